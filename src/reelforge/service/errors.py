"""reelforge's errors as HTTP answers: a bad spec is 422 with the CLI's message, each problem
naming its field; a bad file is 422 naming the field; a refused download is 422 too."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from reelforge.errors import InputError, ReelforgeError, SpecError
from reelforge.service.registry import JobOptions


def options_problem(options: dict[str, Any]) -> JobOptions:
    from reelforge.spec.loader import validate_model

    return validate_model(JobOptions, options, what="set of job options", prefix=("options",))


def spec_problem(exc: SpecError) -> dict[str, Any]:
    problems = []
    for path, _line, message in exc.problems:
        field = path if path.startswith(("kind", "options")) else f"spec.{path}" if path != "(root)" else "spec"
        problems.append({"field": field, "message": message})
    return {"detail": exc.message, "problems": problems, "hint": exc.hint}


def install(app: FastAPI) -> None:
    from fastapi.exceptions import RequestValidationError

    @app.exception_handler(RequestValidationError)
    async def _request(request: Request, exc: RequestValidationError) -> JSONResponse:
        from reelforge.spec.loader import format_loc

        problems = [{"field": format_loc(tuple(e["loc"][1:] if e["loc"][:1] == ("body",) else e["loc"])) or "body",
                     "message": str(e["msg"])} for e in exc.errors()]
        return JSONResponse({"detail": "the request is not valid", "problems": problems, "hint": None},
                            status_code=422)

    @app.exception_handler(SpecError)
    async def _spec(request: Request, exc: SpecError) -> JSONResponse:
        return JSONResponse(spec_problem(exc), status_code=422)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        problems = [{"field": exc.field or "spec", "message": exc.message}]
        return JSONResponse({"detail": exc.message, "problems": problems, "hint": exc.hint}, status_code=422)

    @app.exception_handler(ReelforgeError)
    async def _other(request: Request, exc: ReelforgeError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, "problems": [], "hint": exc.hint}, status_code=422)
