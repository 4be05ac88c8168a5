"""`nlpfeat <stage>`: settings are read here, once, and passed down as objects.

Each subcommand imports its stage lazily, so `nlpfeat proxy` never loads an analyzer and
`nlpfeat featurize` never loads konlpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from contracts.headers import API_KEY, UPSTREAM_TOKEN
from nlpfeat._settings import (
    API_KEY_ENV,
    PROXY_URL,
    UPSTREAM_TOKEN_ENV,
    api_settings,
    given,
    proxy_config,
)

__all__ = ["app"]

app = typer.Typer(
    help="Korean NLP feature platform: NLP API, throttling proxy, Spark featurize, train, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(1)


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (one JVM each)")] = None,
    analyzers: Annotated[str | None, typer.Option(help="comma-separated backends")] = None,
    isolate: Annotated[
        str | None, typer.Option(help="backends run in a killable child process (doc timeout)")
    ] = None,
    doc_timeout: Annotated[
        float | None, typer.Option(help="seconds per doc, isolated backends")
    ] = None,
    max_docs: Annotated[int | None, typer.Option(help="most docs per request (else 413)")] = None,
    max_doc_chars: Annotated[int | None, typer.Option(help="most chars per doc (else 413)")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(help="largest body (else 413)")] = None,
    jvm_heap: Annotated[str | None, typer.Option(help="JVM -Xmx for konlpy analyzers")] = None,
    dict_dir: Annotated[
        Path | None, typer.Option(help="user dictionaries; share it between API instances")
    ] = None,
    upstream_token: Annotated[
        str | None,
        typer.Option(
            envvar=UPSTREAM_TOKEN_ENV,
            show_default=False,
            help=f"require this {UPSTREAM_TOKEN} on every request but /healthz, /readyz, "
            "/metrics (the proxy sends it); else 401",
        ),
    ] = None,
) -> None:
    """Serve the NLP API (FastAPI on uvicorn): /v1/analyze, /v1/features, /v1/analyzers,
    /v1/dictionaries, /healthz, /readyz, /metrics, /docs.

    Options not given come from NLPFEAT_API_<OPTION> variables, else ApiSettings' defaults."""
    from pydantic import ValidationError

    from nlp_api import run
    from nlp_api._errors import NlpApiError

    try:
        settings = api_settings(
            host=host,
            port=port,
            workers=workers,
            analyzers=analyzers,
            isolate=isolate,
            doc_timeout=doc_timeout,
            max_docs=max_docs,
            max_doc_chars=max_doc_chars,
            max_body_bytes=max_body_bytes,
            jvm_heap=jvm_heap,
            dict_dir=dict_dir,
            upstream_token=upstream_token,
        )
        run(settings)
    except (ValidationError, NlpApiError) as exc:
        _fail(exc)


@app.command()
def proxy(
    config: Annotated[
        Path | None,
        typer.Option(
            dir_okay=False,
            help="proxy.toml: clients and API keys, upstreams, capacity, Redis (see README); "
            "without it the flags below describe one keyless client",
        ),
    ] = None,
    upstream: Annotated[str | None, typer.Option(help="NLP API base URL")] = None,
    rate: Annotated[float | None, typer.Option(help="requests per second (GCRA rate)")] = None,
    burst: Annotated[int | None, typer.Option(help="requests allowed at once (GCRA burst)")] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="share limits through Redis; in-process limiter if unset")
    ] = None,
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be limited, forward everything")
    ] = False,
) -> None:
    """Serve the throttling proxy in front of the NLP API.

    Options not given keep the proxy.toml's values, or else take ProxySettings' defaults.

    With --config only --host, --port and --dry-run apply; the rest belongs in the file."""
    import proxy as proxy_pkg

    try:
        cfg = proxy_config(
            config,
            upstream=upstream,
            rate=rate,
            burst=burst,
            redis_url=redis_url,
            host=host,
            port=port,
            dry_run=dry_run or None,
        )
    except proxy_pkg.SettingsError as exc:
        _fail(exc)
    proxy_pkg.run(cfg)


@app.command()
def featurize(
    input: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="reviews TSV")],
    output: Annotated[Path, typer.Option(help="parquet directory to write")],
    proxy: Annotated[str, typer.Option(help="proxy base URL")] = PROXY_URL,
    analyzer: Annotated[str | None, typer.Option(help="analyzer of the NLP API")] = None,
    num_features: Annotated[int | None, typer.Option(help="hashed feature columns")] = None,
    batch_size: Annotated[int | None, typer.Option(help="docs per request")] = None,
    master: Annotated[str | None, typer.Option(help="Spark master (default local mode)")] = None,
    partitions: Annotated[int | None, typer.Option(help="repartition input first")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar=API_KEY_ENV, show_default=False, help=f"sent as {API_KEY} to the proxy"
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="requests in flight per Spark task")
    ] = None,
) -> None:
    """Spark job: features for every review through the proxy, written as parquet.

    Each task paces itself by the proxy's RateLimit headers and honours Retry-After.

    Options not given take FeaturizeOptions' defaults (spark_udfs)."""
    from spark_udfs import FeaturizeOptions, SparkUdfError
    from spark_udfs import featurize as run_featurize

    opts = FeaturizeOptions(
        proxy_url=proxy,
        **given(
            {
                "analyzer": analyzer,
                "num_features": num_features,
                "batch_size": batch_size,
                "master": master,
                "partitions": partitions,
                "api_key": api_key,
                "concurrency": concurrency,
            }
        ),
    )
    try:
        with err.status(f"featurizing {input} with Spark ({opts.master}) through {proxy}"):
            spec = run_featurize(input, output, opts)
    except SparkUdfError as exc:
        _fail(exc)
    err.print(
        f"wrote {output}: {spec['rows']} rows, {spec['errors']} with errors "
        f"({spec['analyzer']} {spec['analyzer_version']})"
    )


@app.command()
def train(
    features: Annotated[Path, typer.Option(exists=True, help="features parquet directory")],
    models: Annotated[Path, typer.Option(help="models directory")] = Path("models"),
    name: str = "sentiment",
) -> None:
    """Logistic regression on hashed features, exported to ONNX and checked against sklearn."""
    import training

    try:
        with err.status("training") as status:
            result = training.train(features, models, name=name, progress=status.update)
    except training.TrainingError as exc:
        _fail(exc)
    err.print(
        f"accuracy {result.accuracy:.4f} on {result.n_test} held-out rows "
        f"({result.n_train} train, {result.n_skipped} skipped); "
        f"max |Δp| onnx vs sklearn {result.max_abs_diff:.2e}; wrote {result.path}"
    )


@app.command()
def serve(
    models: Annotated[Path, typer.Option(help="models directory")] = Path("models"),
    proxy: Annotated[str, typer.Option(help="proxy base URL for features")] = PROXY_URL,
    name: Annotated[str | None, typer.Option(help="model name (default: the only one)")] = None,
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar=API_KEY_ENV, show_default=False, help=f"sent as {API_KEY} to the proxy"
        ),
    ] = None,
) -> None:
    """Serve the latest model with onnxruntime: /v1/predict and KServe v2 /v2/models/...

    Options not given take ServingSettings' defaults (serving)."""
    import serving

    try:
        settings = serving.ServingSettings(
            models_dir=models,
            proxy_url=proxy,
            **given({"model_name": name, "host": host, "port": port, "api_key": api_key}),
        )
    except ValueError as exc:
        _fail(exc)
    serving.run(settings)


@app.command()
def demo(
    sample: Annotated[Path, typer.Option(help="reviews TSV")] = Path("data/reviews_sample.tsv"),
    workdir: Annotated[Path, typer.Option(help="where features, models, logs go")] = Path(".demo"),
    analyzer: str = "mecab",
    redis_url: str = "redis://127.0.0.1:6379/0",
) -> None:
    """The whole path on the bundled sample: API, proxy, featurize, train, serve, predict."""
    from nlpfeat._demo import DemoFailed, run_demo

    try:
        run_demo(sample, workdir, analyzer=analyzer, redis_url=redis_url, console=err)
    except DemoFailed as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err.print("[bold]interrupted[/]: every process the demo started is stopped")
        raise typer.Exit(130) from None
