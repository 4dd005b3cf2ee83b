"""--keras (export, run): the user's own Keras model, checked before any work and adopted into the output folder
(edgeseq.own_model)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from edgeseq.core.progress import for_cli


HELP = {
    "export": "Export your own Keras classifier instead (SimpleRNN, GRU or LSTM layers, Dropout, Dense; see docs/guide-own-data.md"
              " for Normalization, Masking, Bidirectional, Conv1D): checked against --data, copied to"
              " OUT/<stem>/<stem>.keras with its manifest, its files named after the file's stem.",
    "run": "Your own Keras classifier instead of the two seeds: not trained, checked against --data and measured,"
           " then exported, validated, benchmarked and reported (see `edgeseq export --help`).",
}


def keras_option(command: str) -> Any:
    return click.option("--keras", "keras_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                        default=None, metavar="PATH.keras", help=HELP[command])


def check_keras_options(ctx: click.Context) -> None:
    """--keras names the model: --model and --from do not go with it (usage errors, before any work)."""
    given = [f"--{name.replace('_name', '').replace('source_root', 'from')}" for name in ("model_name", "source_root")
             if ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if given:
        raise click.UsageError(f"--keras names the model: {' and '.join(given)} do not go with it")


def own_model(ctx: click.Context, keras_path: Path, data_spec: str) -> tuple[Any, Any]:
    """--keras: the options, then the data and the user's model, checked against each other (no TensorFlow yet)."""
    from edgeseq import data  # noqa: PLC0415
    from edgeseq.own_model import check_against, inspect_keras  # noqa: PLC0415

    check_keras_options(ctx)
    own = inspect_keras(keras_path)
    dataset = data.load(data_spec)
    check_against(own, dataset.spec, dataset.name)
    return dataset, own


def adopt_into(keras_path: Path | None, own: Any, dataset: Any, out: Path, as_json: bool) -> None:
    """--keras: the user's model measured on the test split and written into OUT's layout (without: nothing)."""
    from edgeseq.own_model import adopt  # noqa: PLC0415
    from edgeseq.core.tfsupport import import_keras  # noqa: PLC0415

    if own is None or keras_path is None:
        return
    import_keras()
    with for_cli(as_json) as progress:
        progress.log(f"{own.name}: {own.description} (family {own.family.value}); measuring it on {dataset.name}")
        adopted = adopt(keras_path, dataset, out, own)
        progress.log(f"{own.name}: test accuracy {adopted.test_accuracy:.4f}, {adopted.parameters:,} parameters"
                     f" -> {adopted.path}")
