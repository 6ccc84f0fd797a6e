"""The entry point of the approve service: draft, ask, publish."""

from typing import Any

from hoist.services import Markdown, Tracer


async def execute(inputs: dict[str, Any], tracer: Tracer) -> Markdown:
    draft = f"We are glad to announce {inputs['topic']}. More soon."
    await tracer.markdown(f"Drafted:\n\n> {draft}")
    answer = await tracer.lock("review", data={"draft": draft}, timeout=24 * 3600)
    verb = "approved" if answer["decision"] == "approve" else "edited"
    await tracer.markdown(f"The reviewer {verb} it.")
    return Markdown(answer["text"])
