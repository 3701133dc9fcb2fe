"""An A2A client built only from the official SDK (a2a-sdk 1.x), as a gateway would use it:
resolves Omega's agent card, posts a job as a task with SendMessage and follows it with GetTask
until it ends. Prints one JSON object on stdout: {"card": ..., "sent": ..., "task": ..., "states": [...]}
(protobuf JSON, as on the wire). tests/a2a.rs runs it with .venv/bin/python.

usage: client.py BASE_URL TOKEN TITLE REWARD [SKILL...]   (env A2A_TIMEOUT_S, default 120)
"""

import asyncio
import json
import os
import sys
import time

try:
    import httpx
    from a2a.client import A2ACardResolver, ClientConfig, ClientFactory
    from a2a.helpers import new_data_part, new_message, new_text_part
    from a2a.types import GetTaskRequest, Role, SendMessageRequest, TaskState
    from google.protobuf.json_format import MessageToDict
except ImportError as e:  # the Rust test turns this into its own message
    print(f"a2a-sdk is not installed ({e}): run scripts/setup-python.sh", file=sys.stderr)
    sys.exit(3)

TERMINAL = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_REJECTED,
}


async def main(base, token, title, reward, skills):
    deadline = time.monotonic() + float(os.environ.get("A2A_TIMEOUT_S", "120"))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=headers, timeout=30) as http:
        card = await A2ACardResolver(http, base).get_agent_card()
        # No streaming (the card says so); polling: SendMessage answers at once with the task.
        config = ClientConfig(streaming=False, polling=True, httpx_client=http)
        client = ClientFactory(config).create(card)
        data = {"title": title, "reward": reward}
        if skills:
            data["skills"] = skills
        message = new_message([new_text_part(title), new_data_part(data)], role=Role.ROLE_USER)
        sent = None
        async for response in client.send_message(SendMessageRequest(message=message)):
            sent = response.task
        states = [TaskState.Name(sent.status.state)]
        task = sent
        while task.status.state not in TERMINAL and time.monotonic() < deadline:
            await asyncio.sleep(0.1)  # the condition is the task's state: poll it
            task = await client.get_task(GetTaskRequest(id=sent.id))
            name = TaskState.Name(task.status.state)
            if states[-1] != name:
                states.append(name)
        print(json.dumps({
            "card": MessageToDict(card),
            "sent": MessageToDict(sent),
            "task": MessageToDict(task),
            "states": states,
        }))


if __name__ == "__main__":
    if len(sys.argv) < 5:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    base, token, title, reward, *skills = sys.argv[1:]
    asyncio.run(main(base, token, title, float(reward), skills))
