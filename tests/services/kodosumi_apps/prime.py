"""Prime counter: a range split into Ray tasks that report through the tracer."""

import asyncio

import fastapi
import kodosumi.core as core
from kodosumi.core import ServeAPI
from kodosumi.core import forms as F

import ray

app = ServeAPI()


def is_prime(n: int) -> bool:
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))


@ray.remote(num_cpus=0.1)
def count_primes(lo: int, hi: int, tracer: core.Tracer) -> int:
    found = sum(1 for n in range(lo, hi) if is_prime(n))
    tracer.debug_sync(f"counting {lo}..{hi}")
    tracer.markdown_sync(f"* `{lo}..{hi}`: {found} primes")
    return found


def chunks(start: int, end: int, tasks: int) -> list:
    step = -(-(end - start) // tasks)
    return [(lo, min(lo + step, end)) for lo in range(start, end, step)]


def run(inputs: dict, tracer: core.Tracer):
    start, end, tasks = int(inputs["start"]), int(inputs["end"]), int(inputs["tasks"])
    futures = [count_primes.remote(lo, hi, tracer) for lo, hi in chunks(start, end, tasks)]
    total = sum(ray.get(futures))
    tracer.markdown_sync(f"**{total}** primes found")
    return core.response.Markdown(f"# Primes\n\n{total} primes in [{start}, {end})")


async def run_async(inputs: dict, tracer: core.Tracer):
    start, end, tasks = int(inputs["start"]), int(inputs["end"]), int(inputs["tasks"])
    futures = [count_primes.remote(lo, hi, tracer) for lo, hi in chunks(start, end, tasks)]
    total = sum(await asyncio.gather(*futures))
    await tracer.markdown(f"**{total}** primes found")
    return core.response.Markdown(f"# Primes\n\n{total} primes in [{start}, {end})")


prime_model = core.forms.Model(
    F.Markdown("""
    # Prime Counter

    Counts the primes in a range, split into Ray tasks.
    """),
    F.Errors(),
    F.Break(),
    F.InputNumber(label="Start", name="start", value="0", min_value=0),
    F.InputNumber(label="End", name="end", value="1000", min_value=1),
    F.InputNumber(label="Tasks", name="tasks", value="4", min_value=1, max_value=16),
    F.Submit("Submit"),
    F.Cancel("Cancel"),
)


def check(inputs: dict):
    error = core.InputsError()
    if int(inputs["end"]) > 100_000:
        error.add(end="At most 100000, please.")
    if int(inputs["start"]) >= int(inputs["end"]):
        error.add(_global_="The range is empty: start must be below end.")
    if error.has_errors():
        raise error


@app.enter(
    path="/",
    model=prime_model,
    summary="Prime Counter",
    description="Counts primes with Ray tasks.",
    version="0.1.0",
    author="primes@example.org",
    organization="Example Org",
    tags=["Test", "Ray"],
)
async def enter(request: fastapi.Request, inputs: dict):
    check(inputs)
    return core.Launch(request, "kodosumi_apps.prime:run", inputs=inputs)


@app.enter(
    path="/async",
    model=prime_model,
    summary="Prime Counter (async)",
    description="Counts primes with Ray tasks, awaited.",
    version="0.1.0",
    author="primes@example.org",
    organization="Example Org",
    tags=["Test", "Ray"],
)
async def enter_async(request: fastapi.Request, inputs: dict):
    check(inputs)
    return core.Launch(request, "kodosumi_apps.prime:run_async", inputs=inputs)
