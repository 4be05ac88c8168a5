"""`nlpfeat <stage>`: settings are read here, once, and passed down as objects.

Each subcommand imports its stage lazily, so `nlpfeat proxy` never loads an analyzer and
`nlpfeat featurize` never loads konlpy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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


def _csv(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def _char_range(value: str | None) -> list[str] | str | None:
    """`none` switches character n-grams off; `MIN,MAX` sets them; not given: the default."""
    if value is not None and value.strip().lower() in ("none", "off", ""):
        return "none"
    return _csv(value)


def _pos_filter(value: str | None) -> str | list[str] | None:
    if value is None or ("," not in value and value in ("all", "content", "nouns")):
        return value
    return _csv(value)


Opt = typer.Option


@app.command()
def featurize(
    config: Annotated[
        Path | None, Opt(help="job file (TOML): [input] [spec] [filters] [output] [service]")
    ] = None,
    input: Annotated[
        str | None,
        Opt(
            help="table to read: a path Spark reads (local, hdfs://, s3a://)",
            rich_help_panel="input",
        ),
    ] = None,
    format: Annotated[
        str | None,
        Opt(help="csv | tsv | jsonl | parquet (default: from the name)", rich_help_panel="input"),
    ] = None,
    text_col: Annotated[
        str | None, Opt(help="text column (default document)", rich_help_panel="input")
    ] = None,
    id_col: Annotated[
        str | None,
        Opt(help="id column (default id; made from the text when absent)", rich_help_panel="input"),
    ] = None,
    label_col: Annotated[
        str | None, Opt(help="label column (default label)", rich_help_panel="input")
    ] = None,
    quote: Annotated[
        bool | None,
        Opt(
            "--quote/--no-quote",
            help="CSV/TSV quoting (default: csv yes, tsv no)",
            rich_help_panel="input",
        ),
    ] = None,
    analyzer: Annotated[
        str | None, Opt(help="analyzer of the NLP API (default mecab)", rich_help_panel="spec")
    ] = None,
    op: Annotated[str | None, Opt(help="pos (all tokens) or nouns", rich_help_panel="spec")] = None,
    ngram_range: Annotated[
        str | None, Opt(help="MIN,MAX n-grams (default 1,2)", rich_help_panel="spec")
    ] = None,
    char_ngram_range: Annotated[
        str | None,
        Opt(
            help="MIN,MAX character n-grams of each eojeol, or none (default 1,4)",
            rich_help_panel="spec",
        ),
    ] = None,
    text_char_ngram_range: Annotated[
        str | None,
        Opt(
            help="MIN,MAX character n-grams of the text without whitespace, or none (default 3,5)",
            rich_help_panel="spec",
        ),
    ] = None,
    pos_filter: Annotated[
        str | None, Opt(help="all | content | nouns | tag prefixes NN,VV", rich_help_panel="spec")
    ] = None,
    stopwords: Annotated[
        str | None, Opt(help="comma-separated forms to drop", rich_help_panel="spec")
    ] = None,
    binary: Annotated[
        bool | None,
        Opt("--binary/--counts", help="1.0 per present term, or counts", rich_help_panel="spec"),
    ] = None,
    num_features: Annotated[
        int | None,
        Opt(help="hashed columns, a power of two (default 2^20)", rich_help_panel="spec"),
    ] = None,
    dictionary: Annotated[
        str | None,
        Opt(help="user dictionary on the API (version recorded)", rich_help_panel="spec"),
    ] = None,
    min_chars: Annotated[
        int | None, Opt(help="drop texts shorter than this", rich_help_panel="filters")
    ] = None,
    max_chars: Annotated[
        int | None, Opt(help="drop texts longer than this", rich_help_panel="filters")
    ] = None,
    min_hangul: Annotated[
        float | None,
        Opt(help="drop texts with a smaller Hangul share (0-1)", rich_help_panel="filters"),
    ] = None,
    drop_duplicates: Annotated[
        bool | None,
        Opt(
            "--drop-duplicates/--keep-duplicates",
            help="identical texts: keep the first by id",
            rich_help_panel="filters",
        ),
    ] = None,
    drop_normalized_duplicates: Annotated[
        bool | None,
        Opt(
            "--drop-normalized-duplicates/--keep-normalized-duplicates",
            help="equal up to case, spacing, punctuation",
            rich_help_panel="filters",
        ),
    ] = None,
    label_required: Annotated[
        bool | None,
        Opt(
            "--label-required/--label-optional",
            help="drop rows without a label",
            rich_help_panel="filters",
        ),
    ] = None,
    flagged: Annotated[
        str | None,
        Opt(
            help="Parquet table of ids to drop (ANALYZE's flagged rows)", rich_help_panel="filters"
        ),
    ] = None,
    output: Annotated[
        str | None, Opt(help="feature table directory to write", rich_help_panel="output")
    ] = None,
    rows_per_part: Annotated[
        int | None,
        Opt(help="rows per part, the unit of resume (default 20000)", rich_help_panel="output"),
    ] = None,
    max_rows_per_file: Annotated[
        int | None,
        Opt(help="rows per Parquet file at most (default 50000)", rich_help_panel="output"),
    ] = None,
    dropped: Annotated[
        str | None,
        Opt(help="write the dropped rows here, with their filter", rich_help_panel="output"),
    ] = None,
    tokens: Annotated[
        bool | None,
        Opt(
            "--tokens/--no-tokens", help="also write each row's unigrams", rich_help_panel="output"
        ),
    ] = None,
    proxy: Annotated[
        str | None, Opt(help=f"proxy base URL (default {PROXY_URL})", rich_help_panel="service")
    ] = None,
    api_key: Annotated[
        str | None,
        Opt(
            envvar=API_KEY_ENV,
            show_default=False,
            help=f"sent as {API_KEY} to the proxy",
            rich_help_panel="service",
        ),
    ] = None,
    batch_size: Annotated[
        int | None, Opt(help="docs per request (default 1000)", rich_help_panel="service")
    ] = None,
    concurrency: Annotated[
        int | None,
        Opt(min=1, help="requests in flight per Spark task (default 2)", rich_help_panel="service"),
    ] = None,
    deadline: Annotated[
        float | None,
        Opt(
            help="seconds a batch may retry transient faults (default 120)",
            rich_help_panel="service",
        ),
    ] = None,
    retry_budget: Annotated[
        float | None,
        Opt(help="retries per request a task may spend (default 0.5)", rich_help_panel="service"),
    ] = None,
    master: Annotated[
        str | None, Opt(help="Spark master: local[N], spark://, yarn, k8s:// (default local[2])")
    ] = None,
    overwrite: Annotated[bool, Opt(help="start over, deleting what is at --output")] = False,
    progress: Annotated[bool, Opt("--progress/--no-progress", help="progress bar")] = True,
) -> None:
    """Spark job (BATCH): any table in, declared filters, a partitioned feature table out.

    Options override the --config file; neither given, the job's defaults apply. Killed and
    run again with the same arguments, the job redoes only unfinished parts. Each task paces
    itself by the proxy's RateLimit headers and retries transient faults."""
    from spark_udfs import SparkUdfError, load_job
    from spark_udfs import featurize as run_featurize

    overrides: dict[str, dict[str, Any]] = {
        "input": {
            "path": input,
            "format": format,
            "text": text_col,
            "id": id_col,
            "label": label_col,
            "quote": quote,
        },
        "spec": {
            "analyzer": analyzer,
            "op": op,
            "ngram_range": _csv(ngram_range),
            "char_ngram_range": _char_range(char_ngram_range),
            "text_char_ngram_range": _char_range(text_char_ngram_range),
            "pos_filter": _pos_filter(pos_filter),
            "stopwords": _csv(stopwords),
            "binary": binary,
            "num_features": num_features,
            "dictionary": dictionary,
        },
        "filters": {
            "min_chars": min_chars,
            "max_chars": max_chars,
            "min_hangul": min_hangul,
            "drop_duplicates": drop_duplicates,
            "drop_normalized_duplicates": drop_normalized_duplicates,
            "label_required": label_required,
            "flagged": flagged,
        },
        "output": {
            "path": output,
            "rows_per_part": rows_per_part,
            "max_rows_per_file": max_rows_per_file,
            "dropped": dropped,
            "tokens": tokens,
        },
        "service": {
            "proxy": proxy,
            "api_key": api_key,
            "batch_size": batch_size,
            "concurrency": concurrency,
            "deadline": deadline,
            "retry_budget": retry_budget,
        },
        "job": {"master": master},
    }
    try:
        job = load_job(config, overrides)
        err.print(
            f"featurizing {job.input.path} with Spark ({job.master}) through {job.service.proxy}"
        )
        result = run_featurize(job, overwrite=overwrite, progress=progress)
    except SparkUdfError as exc:
        _fail(exc)
    from nlpfeat._summary import print_job_summary

    print_job_summary(err, result)


@app.command()
def train(
    features: Annotated[Path, typer.Option(exists=True, help="features parquet directory")],
    models: Annotated[Path, typer.Option(help="models directory")] = Path("models"),
    name: str = "sentiment",
    engine: Annotated[
        str, typer.Option(help="sklearn (one machine) | spark (MLlib, tables beyond memory)")
    ] = "sklearn",
    master: Annotated[str, typer.Option(help="Spark master for --engine spark")] = "local[2]",
) -> None:
    """Logistic regression on hashed features, exported to ONNX and checked; the first model
    of a name becomes production, later ones the candidate (`nlpfeat models promote`)."""
    import getpass

    import training
    from contracts import CANDIDATE, PRODUCTION, ModelRegistry, RepositoryError

    if engine not in ("sklearn", "spark"):
        _fail(ValueError(f"--engine must be sklearn or spark, not {engine!r}"))
    try:
        with err.status("training") as status:
            if engine == "spark":
                result = training.train_spark(
                    features, models, name=name, master=master, progress=status.update
                )
            else:
                result = training.train(features, models, name=name, progress=status.update)
        registry = ModelRegistry(models)
        first = registry.resolve(name, PRODUCTION) is None
        alias = PRODUCTION if first else CANDIDATE
        registry.set_alias(
            name,
            alias,
            result.version,
            by=getpass.getuser(),
            reason=f"nlpfeat train on {features}"
            + (" (first model: nothing in production to gate against)" if first else ""),
            gate={"verdict": "first"} if first else None,
        )
    except (training.TrainingError, RepositoryError) as exc:
        _fail(exc)
    err.print(
        f"accuracy {result.accuracy:.4f} on {result.n_test} held-out rows "
        f"({result.n_train} train); max |Δp| onnx vs {engine} {result.max_abs_diff:.2e}; "
        f"wrote {result.path}, now {alias}"
    )
    if result.n_skipped:
        kinds = ", ".join(f"{k} {v}" for k, v in result.skipped_errors.items())
        err.print(
            f"[yellow]skipped {result.n_skipped} row(s)[/]: {result.n_skipped_unlabelled} "
            f"without a label, {result.n_skipped_error} with an error"
            + (f" ({kinds})" if kinds else "")
        )


@app.command()
def serve(
    models: Annotated[Path, typer.Option(help="models directory")] = Path("models"),
    proxy: Annotated[str, typer.Option(help="proxy base URL for features")] = PROXY_URL,
    name: Annotated[
        list[str] | None,
        typer.Option(help="a model to serve, repeatable (default: every model in --models)"),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option(help="serve this version of the one --name, not its production alias"),
    ] = None,
    poll_interval: Annotated[
        float | None,
        typer.Option(help="seconds between looks at the registry for a promotion; 0: never"),
    ] = None,
    max_in_flight: Annotated[
        int | None,
        typer.Option(help="most /v1/predict and most v2 infer requests at once (then 503)"),
    ] = None,
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            envvar=API_KEY_ENV, show_default=False, help=f"sent as {API_KEY} to the proxy"
        ),
    ] = None,
) -> None:
    """Serve models with onnxruntime: /v1/predict and KServe v2 /v2/models/..., /metrics.

    Each model serves its production alias (its latest version while it has none) and
    follows promotions and rollbacks without a restart. Options not given take
    ServingSettings' defaults (serving)."""
    import serving

    options: dict[str, Any] = {
        "model_names": tuple(name) if name else None,
        "version": version,
        "poll_interval": poll_interval,
        "max_predict_in_flight": max_in_flight,
        "max_infer_in_flight": max_in_flight,
        "host": host,
        "port": port,
        "api_key": api_key,
    }
    try:
        settings = serving.ServingSettings(models_dir=models, proxy_url=proxy, **given(options))
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


# Commands of later stages live in their own modules and register themselves on `app`.
from nlpfeat import _cmd_analyze, _cmd_models  # noqa: E402, F401
