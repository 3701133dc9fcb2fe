"""A small A2A 1.0 JSON-RPC server around the official SDK's server side (a2a-sdk 1.x): the SDK's
request handler (DefaultRequestHandlerV2), task store and TaskUpdater do the A2A work; this file
only carries JSON-RPC over HTTP with aiohttp, because the SDK's own HTTP routes need starlette,
which the shared .venv does not have. Serves:

  GET  /.well-known/agent-card.json   the agent card (the SDK's agent_card_to_dict)
  POST /                              JSON-RPC 2.0: SendMessage, GetTask, CancelTask

The examples (worker.py, validator.py, sloppy_worker.py) give it an AgentExecutor and a card.
"""

import asyncio
import json
import sys

from aiohttp import web
from google.protobuf.json_format import MessageToDict, ParseDict

from a2a.server.context import ServerCallContext
from a2a.server.request_handlers import DefaultRequestHandlerV2
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    CancelTaskRequest,
    GetTaskRequest,
    SendMessageRequest,
    Task,
)
from a2a.utils.errors import A2AError
from a2a.server.tasks import TaskUpdater
from a2a.types import TaskState, TaskStatus

METHODS = {
    "SendMessage": SendMessageRequest,
    "GetTask": GetTaskRequest,
    "CancelTask": CancelTaskRequest,
}


async def start_task(context, event_queue):
    """Records the task as submitted (with the message that asked for it) and starts the work;
    returns the updater that reports the rest."""
    updater = TaskUpdater(event_queue, context.task_id, context.context_id)
    await event_queue.enqueue_event(
        Task(
            id=context.task_id,
            context_id=context.context_id,
            status=TaskStatus(state=TaskState.TASK_STATE_SUBMITTED),
            history=[context.message],
        )
    )
    await updater.start_work()
    return updater


def card(name, description, url, skills):
    """An agent card with one JSON-RPC 1.0 interface at `url` and `skills` [(id, description)]."""
    return AgentCard(
        name=name,
        description=description,
        version="1.0.0",
        supported_interfaces=[
            AgentInterface(url=url, protocol_binding="JSONRPC", protocol_version="1.0")
        ],
        capabilities=AgentCapabilities(streaming=False, push_notifications=False),
        default_input_modes=["application/json"],
        default_output_modes=["application/json"],
        skills=[
            AgentSkill(id=s, name=s, description=d, tags=[s]) for s, d in skills
        ],
    )


def rpc_error(request_id, code, message):
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


async def dispatch(handler, body):
    request_id = body.get("id") if isinstance(body, dict) else None
    model = METHODS.get(body.get("method")) if isinstance(body, dict) else None
    if model is None:
        return rpc_error(request_id, -32601, "Method not found")
    try:
        params = ParseDict(body.get("params", {}), model(), ignore_unknown_fields=True)
    except Exception as e:  # noqa: BLE001
        return rpc_error(request_id, -32602, f"Invalid params: {e}")
    context = ServerCallContext()
    try:
        if model is SendMessageRequest:
            answer = await handler.on_message_send(params, context)
            key = "task" if isinstance(answer, Task) else "message"
            result = {key: MessageToDict(answer)}
        elif model is GetTaskRequest:
            result = MessageToDict(await handler.on_get_task(params, context))
        else:
            result = MessageToDict(await handler.on_cancel_task(params, context))
    except A2AError as e:
        return rpc_error(request_id, getattr(e, "code", -32603) or -32603, str(e))
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def serve(executor, make_card, port):
    """Serves `executor` on 127.0.0.1:`port` (0: any free port). Prints `listening PORT` once
    bound, so that whoever started it learns the port."""

    async def main():
        # The card names the bound port, known only once bound: the routes read it from here.
        bound = {}

        async def get_card(_request):
            return web.json_response(agent_card_to_dict(bound["card"]))

        async def post_rpc(request):
            try:
                body = json.loads(await request.read())
            except ValueError as e:
                return web.json_response(rpc_error(None, -32700, f"Parse error: {e}"))
            return web.json_response(await dispatch(bound["handler"], body))

        app = web.Application(client_max_size=4 * 1024 * 1024)
        app.router.add_get("/.well-known/agent-card.json", get_card)
        app.router.add_post("/", post_rpc)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
        actual = site._server.sockets[0].getsockname()[1]  # noqa: SLF001
        bound["card"] = make_card(f"http://127.0.0.1:{actual}/")
        bound["handler"] = DefaultRequestHandlerV2(executor, InMemoryTaskStore(), bound["card"])
        print(f"listening {actual}", flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
