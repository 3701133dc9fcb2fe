"""The job all three examples agree on: a job's input data is {"text", "numbers"} (Omega derives
it from the job's id and title); its result is the sum of the numbers and the SHA-256 of the text.
A validator recomputes both."""

import hashlib


def compute(input_data):
    numbers = input_data.get("numbers") or []
    text = input_data.get("text") or ""
    return {
        "sum": sum(int(n) for n in numbers),
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def job_data(context):
    """The data part of the task's message (Omega sends exactly one)."""
    for part in context.message.parts:
        if part.HasField("data"):
            from google.protobuf.json_format import MessageToDict

            return MessageToDict(part.data)
    return None
