"""An external worker for Omega, on the official A2A SDK's server side: each job it is handed
(an A2A task whose data part carries the job: id, title, skills, reward, deadline, parent and
input data) is answered with one artifact, {"sum", "sha256"} computed from the input data.

A job whose input text holds "[split]" is also split: beside its result, the worker asks Omega
for two sub-jobs, one per half of the numbers (a second artifact with a data part
{"subjobs": [{title, skills, reward, input}, ...]}). Omega posts them as children of the job,
funded by this worker (a quarter of the job's reward each), and hands each to a worker with its
half as input.

usage: worker.py [PORT]   (0 or none: a free port; prints `listening PORT`)
env:   WORKER_DELAY_S  seconds to "work" before answering (default 0.3)
       WORKER_HANG     1: never answer (stays WORKING), to test deadlines
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from a2a.server.agent_execution import AgentExecutor
from a2a.server.tasks import TaskUpdater
from a2a.helpers import new_data_part, new_text_part

import agent_server
import checksum

SKILLS = [("checksum", "sums the job's numbers and hashes its text (SHA-256)")]


class Worker(AgentExecutor):
    def __init__(self, answer=checksum.compute):
        self.answer = answer

    async def execute(self, context, event_queue):
        updater = await agent_server.start_task(context, event_queue)
        job = checksum.job_data(context)
        if not job or "input" not in job:
            await updater.reject(
                updater.new_agent_message([new_text_part("no job data part with input")])
            )
            return
        if os.environ.get("WORKER_HANG") == "1":
            await asyncio.Event().wait()
        await asyncio.sleep(float(os.environ.get("WORKER_DELAY_S", "0.3")))
        await updater.add_artifact([new_data_part(self.answer(job["input"]))], name="result")
        if "[split]" in (job["input"].get("text") or ""):
            await updater.add_artifact([new_data_part({"subjobs": split(job)})], name="subjobs")
        await updater.complete()

    async def cancel(self, context, event_queue):
        updater = TaskUpdater(event_queue, context.task_id, context.context_id)
        await updater.cancel()


def split(job):
    """Two sub-jobs, one per half of the job's numbers (titled without the marker, so that
    they are not split again)."""
    numbers = job["input"].get("numbers") or []
    title = job["title"].replace("[split]", "").strip()
    reward = float(job["reward"]) / 4
    halves = [numbers[: len(numbers) // 2], numbers[len(numbers) // 2 :]]
    return [
        {
            "title": f"{title} (part {k})",
            "skills": job["skills"],
            "reward": reward,
            "input": {"text": f"{title} (part {k})", "numbers": half},
        }
        for k, half in enumerate(halves, 1)
    ]


def main(executor, name, description):
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    agent_server.serve(
        executor,
        lambda url: agent_server.card(name, description, url, SKILLS),
        port,
    )


if __name__ == "__main__":
    main(Worker(), "Checksum worker", "Computes checksums of a job's input data for Omega.")
