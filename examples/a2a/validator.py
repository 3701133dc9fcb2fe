"""An external validator for Omega, on the official A2A SDK's server side: each validation task
carries the job (with its input data) and the worker's result ({"job", "artifacts"}, the JSON
whose hash went on chain). It recomputes the checksum and answers one artifact
{"approve": true|false, "reason": "..."}.

usage: validator.py [PORT]   (0 or none: a free port; prints `listening PORT`)
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from a2a.server.agent_execution import AgentExecutor
from a2a.server.tasks import TaskUpdater
from a2a.helpers import new_data_part

import agent_server
import checksum

SKILLS = [("checksum", "checks checksum results by recomputing them")]


def judge(task):
    expected = checksum.compute(task.get("input") or {})
    artifacts = (task.get("result") or {}).get("artifacts") or []
    for artifact in artifacts:
        for part in artifact.get("parts") or []:
            data = part.get("data")
            if isinstance(data, dict) and "sum" in data:
                if data == expected:
                    return True, "the sum and the hash match"
                return False, f"expected {expected}, got {data}"
    return False, "the result has no checksum data part"


class Validator(AgentExecutor):
    async def execute(self, context, event_queue):
        updater = await agent_server.start_task(context, event_queue)
        approve, reason = judge(checksum.job_data(context) or {})
        await updater.add_artifact(
            [new_data_part({"approve": approve, "reason": reason})], name="verdict"
        )
        await updater.complete()

    async def cancel(self, context, event_queue):
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    agent_server.serve(
        Validator(),
        lambda url: agent_server.card(
            "Checksum validator", "Recomputes checksum results for Omega.", url, SKILLS
        ),
        port,
    )
