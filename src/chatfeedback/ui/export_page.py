"""The Export page (admins only): every export format as a download button, and the same
files redacted and with raters hashed (``chatfeedback export --redact --hash-raters``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date

import streamlit as st

from ..export.private import Privacy
from ..export.registry import FORMATS, ExportFormat, export_bytes, export_file
from ..redact import KINDS
from ..store import Store
from . import keys
from .context import service

__all__ = ["export_bytes", "render"]


@dataclass(frozen=True)
class Prepared:
    """A private export built on this page: the options it was built with, the file, and
    what the command line would have printed (the counts per kind among them)."""

    options: tuple[str, bool, bool, str]   # format, redact, hash raters, salt
    data: bytes
    lines: list[str]
    counts: dict[str, int] | None          # per kind of redaction; None: not redacted


def render() -> None:
    st.title("Export")
    st.write("Download every rated answer with its prompt, model, settings and timing, "
             "training data for TRL (only conversations whose training consent is on), or "
             "the audit trail of every rating action. The command line gives the same files "
             "with date and model filters: `chatfeedback export -h`.")
    store = service().store
    today = date.today().isoformat()
    redact, hash_raters, salt = _privacy_options()
    if redact or hash_raters:
        _private(store, today, redact, hash_raters, salt)
        return
    for spec in FORMATS.values():
        # Deferred: the file is built when the button is clicked, not on every page run.
        st.download_button(spec.label, data=functools.partial(export_bytes, store, spec.name),
                           file_name=_file_name(spec, today), mime=spec.mime,
                           key=keys.export(spec.name), icon=":material/download:",
                           on_click="ignore")


def _file_name(spec: ExportFormat, today: str, private: bool = False) -> str:
    return f"{spec.stem}-{today}{'-private' if private else ''}.{spec.extension}"


def _privacy_options() -> tuple[bool, bool, str]:
    with st.container(border=True):
        st.markdown("**Privacy** (as `chatfeedback export --redact --hash-raters "
                    "--hash-salt`)")
        redact = st.toggle(
            "Redact personal data and secrets", key=keys.EXPORT_REDACT,
            help="E-mail addresses, phone numbers, card numbers (Luhn-checked), IBANs, IP "
                 "addresses and API-key-shaped strings in every text field become [EMAIL], "
                 "[PHONE], [CARD], [IBAN], [IP], [KEY].")
        hash_raters = st.toggle(
            "Hash rater identities", key=keys.EXPORT_HASH,
            help="Raters, actors, reviewers and voters become r- and 16 hex digits of "
                 "HMAC-SHA256 of their identity.")
        salt = st.text_input(
            "Hash salt", key=keys.EXPORT_SALT, type="password", disabled=not hash_raters,
            help="The key of the pseudonyms: the same salt gives the same pseudonyms in "
                 "every export, so exports can be joined by rater. Empty: a one-off key, "
                 "pseudonyms differ from every other export.")
    return redact, hash_raters, salt


def _private(store: Store, today: str, redact: bool, hash_raters: bool, salt: str) -> None:
    """One format at a time: built on **Prepare**, then its counts and its download."""
    fmt = st.selectbox("Format", list(FORMATS), key=keys.EXPORT_FORMAT,
                       format_func=lambda name: FORMATS[name].label)
    options = (fmt, redact, hash_raters, salt)
    if st.button("Prepare the file", key=keys.EXPORT_PREPARE, icon=":material/shield:"):
        privacy = Privacy(redact=redact, hash_raters=hash_raters, salt=salt or None)
        with st.spinner("Writing the export and making it private..."):
            data, lines = export_file(store, fmt, privacy=privacy)
        counts = (dict(privacy.redactor.counts) if privacy.redactor is not None else None)
        st.session_state[keys.EXPORT_PREPARED] = Prepared(options, data, lines, counts)
    prepared: Prepared | None = st.session_state.get(keys.EXPORT_PREPARED)
    if prepared is None or prepared.options != options:
        st.caption("Choose the format and **Prepare the file**: the export is written, then "
                   "every row is passed through the redaction, and the counts are shown "
                   "here before you download it.")
        return
    st.success("  \n".join(prepared.lines), icon=":material/check:")
    if prepared.counts is not None:
        columns = st.columns(len(KINDS))
        for column, kind in zip(columns, KINDS, strict=True):
            column.metric(f"[{kind}]", prepared.counts.get(kind, 0))
    spec = FORMATS[fmt]
    st.download_button(f"Download: {spec.label}", data=prepared.data,
                       file_name=_file_name(spec, today, private=True), mime=spec.mime,
                       key=keys.export("private"), icon=":material/download:",
                       on_click="ignore")
