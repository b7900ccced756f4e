"""The real services that the tests and the benchmarks both run: the app server
(``chatfeedback run``), nginx in front of it, Chromium's path, settings files."""
