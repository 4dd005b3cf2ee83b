"""What a microcontroller needs beyond what TFLM measures for a file: the allowance the --ram and --flash budgets
add, named once, with where each figure comes from.

edgeseq measures a file's own needs in TFLM (edgeseq.runtimes.tflm_runtime.footprint): the arena (the smallest
`arena_size` that allocates and invokes) and the model's flash bytes (the file, 16-byte aligned). A firmware
needs more than that:

  RAM needed   = arena_bytes + STACK_BYTES                the app's stack while TFLM's kernels run
  flash needed = flash_bytes + TFLM_CODE_FLASH_BYTES      TFLM's interpreter and the ops' kernels

TFLM_CODE_FLASH_BYTES, 22 KB: "The core runtime fits in 16KB on a Cortex M3, and with enough operators to run a
speech keyword detection model, takes up a total of 22KB" (TFLM's README, tensorflow/lite/experimental/micro/
README.md, 2019, as quoted in github.com/tensorflow/tensorflow/issues/32345; today's tflite-micro README keeps
"The core runtime just fits in 16 KB on an Arm Cortex M3"). It is the vendor's floor, for a release build that
registers only the model's ops: builds with more kernels, logging or without -Os and --gc-sections measured far
more (160 KB of TFLM .text for a 12-layer int8 model: tensorflow/tensorflow#48073; a 0.9 MB binary with
UNIDIRECTIONAL_SEQUENCE_LSTM, FULLY_CONNECTED, RESHAPE and STRIDED_SLICE: tensorflow/tflite-micro#2263).

STACK_BYTES, 4 KB: the main stack Zephyr's TFLM samples give the thread that invokes the interpreter
(CONFIG_MAIN_STACK_SIZE=4096 in samples/modules/tflite-micro/magic_wand/prj.conf; 2048 in hello_world's).

The arena is a 64-bit host build's: TFLM's persistent structs hold pointers, smaller on a 32-bit microcontroller,
so the arena there is at most this figure.
"""

from __future__ import annotations

from typing import Any

from edgeseq.report.units import KB

TFLM_CODE_FLASH_BYTES = 22 * KB      # TFLM's interpreter (16 KB) + a keyword-spotting model's kernels, Cortex-M3
TFLM_CODE_SOURCE = ("TFLM's README: its core runtime fits in 16 KB on a Cortex-M3, 22 KB with a keyword-spotting"
                    " model's kernels; a release build's floor, and larger builds are common")
STACK_BYTES = 4 * KB                 # the app's stack (Zephyr's TFLM samples: CONFIG_MAIN_STACK_SIZE=4096)
STACK_SOURCE = "the main stack Zephyr's TFLM samples set, CONFIG_MAIN_STACK_SIZE=4096"


def ram_needed(footprint: dict[str, Any]) -> int:
    """A file's RAM on a microcontroller: TFLM's arena for it and the app's stack."""
    return int(footprint["arena_bytes"]) + STACK_BYTES


def flash_needed(footprint: dict[str, Any]) -> int:
    """A file's flash on a microcontroller: the model (aligned) and TFLM's code."""
    return int(footprint["flash_bytes"]) + TFLM_CODE_FLASH_BYTES


def size_text(size: int) -> str:
    """A byte budget as given on the command line would write it: 256K, 1M, 1.5M, 512000 B."""
    for unit, factor in (("M", KB * KB), ("K", KB)):
        if size >= factor and (size * 10) % factor == 0:
            return f"{size / factor:g}{unit}"
    return f"{size:,} B"


def described() -> str:
    """The allowance in one sentence, with its sources (the report says it beside every fit)."""
    return (f"RAM needed is the arena TFLM measured plus {STACK_BYTES // KB} KB for the app's stack ({STACK_SOURCE});"
            f" flash needed is the model's flash bytes plus {TFLM_CODE_FLASH_BYTES // KB} KB for TFLM's code"
            f" ({TFLM_CODE_SOURCE}). K = 1024 bytes.")
