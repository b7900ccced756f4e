"""A FastAPI service that answers with its own model and keeps every exchange, and what
people think of the answers, in chatfeedback's database (the dashboard and the exports
read it as they read the chat's).

    pip install chatfeedback fastapi uvicorn
    CHATFEEDBACK_DATABASE_URL=sqlite:///feedback.db uvicorn fastapi_app:app

    curl -s localhost:8000/chat -H 'content-type: application/json' \\
         -d '{"prompt": "What is 2 + 2?", "user": "ann@example.org"}'
    curl -s localhost:8000/feedback -H 'content-type: application/json' \\
         -d '{"answer_id": "<answer_id from above>", "rating": 1, "comment": "right"}'
    chatfeedback export --db sqlite:///feedback.db
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

import chatfeedback

MODEL = "echo-upper"


def my_model(prompt: str) -> str:
    """Your model call goes here (OpenAI, a local model, a RAG chain...)."""
    return prompt.upper()


class ChatIn(BaseModel):
    prompt: str
    user: str | None = None
    conversation_id: str | None = None  # continue a conversation
    trace_id: str | None = None         # the request's trace in Langfuse/OpenTelemetry


class ChatOut(BaseModel):
    conversation_id: str
    answer_id: str
    answer: str


class FeedbackIn(BaseModel):
    answer_id: str
    rating: int | None = None  # thumbs: 1 up, 0 down (faces/stars: 1-5)
    comment: str | None = None
    tags: list[str] | None = None
    user: str | None = None


class FeedbackOut(BaseModel):
    answer_id: str
    rating: int | None
    comment: str | None
    tags: list[str]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # $CHATFEEDBACK_DATABASE_URL (or chatfeedback.toml's [database] url): opened, migrated.
    app.state.feedback = chatfeedback.connect()
    yield
    app.state.feedback.close()


app = FastAPI(title="chat with feedback", lifespan=lifespan)


@app.exception_handler(chatfeedback.ChatfeedbackError)
def refused(request: Request, exc: chatfeedback.ChatfeedbackError) -> JSONResponse:
    """Every refusal is one line for the client: unknown ids are 404, the rest 400."""
    status = 404 if isinstance(exc, chatfeedback.NotFound) else 400
    return JSONResponse({"detail": str(exc)}, status_code=status)


def feedback(request: Request) -> chatfeedback.Feedback:
    found: chatfeedback.Feedback = request.app.state.feedback
    return found


@app.post("/chat")
def chat(body: ChatIn, request: Request) -> ChatOut:
    answer = my_model(body.prompt)
    turn = feedback(request).log(body.prompt, answer, model=MODEL, user=body.user,
                                 conversation=body.conversation_id, trace_id=body.trace_id)
    return ChatOut(conversation_id=turn.conversation.id, answer_id=turn.answer.id,
                   answer=answer)


@app.post("/feedback")
def rate(body: FeedbackIn, request: Request) -> FeedbackOut:
    fb = feedback(request)
    rating = fb.rating(body.answer_id)
    if body.rating is not None:
        rating = fb.rate(body.answer_id, body.rating, rater=body.user)
    if body.comment is not None:
        rating = fb.comment(body.answer_id, body.comment, rater=body.user)
    if body.tags is not None:
        rating = fb.tag(body.answer_id, body.tags, rater=body.user)
    if rating is None:
        raise chatfeedback.FeedbackError("send a rating first (\"rating\": 1)")
    return FeedbackOut(answer_id=body.answer_id, rating=rating.value, comment=rating.comment,
                       tags=list(rating.tags))
