"""A declared form's schema carried by FastAPI's OpenAPI, and its errors as a 422."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hoist import forms as F

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

import httpx
from fastapi import FastAPI, HTTPException, Request


def test_fastapi_carries_the_schema() -> None:
    form = F.Model(F.InputNumber("tasks", required=True, min_value=1, integer=True))
    app = FastAPI()

    @app.post(
        "/",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": form.json_schema()}},
            }
        },
    )
    async def enter(request: Request) -> dict[str, object]:
        try:
            return form.validate(await request.json())
        except F.InputsError as exc:
            raise HTTPException(422, exc.errors) from exc

    async def calls() -> tuple[Any, Any, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            schema = (await client.get("/openapi.json")).json()
            good = await client.post("/", json={"tasks": 2})
            bad = await client.post("/", json={"tasks": 0})
        return schema, good, bad

    schema, good, bad = asyncio.run(calls())
    body = schema["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["tasks"]["minimum"] == 1
    assert good.json() == {"tasks": 2}
    assert bad.status_code == 422 and bad.json() == {"detail": {"tasks": ["must be >= 1"]}}
