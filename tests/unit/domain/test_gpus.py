"""Catalogue GPU names (vendor APIs, plan files) against names drivers report."""

from __future__ import annotations

import pytest

from modelport.domain.gpus import gpu_type_matches

H100 = "NVIDIA H100 80GB HBM3 (80GB)"
H200 = "NVIDIA H200 (140GB)"
A100_40 = "NVIDIA A100-SXM4-40GB (40GB)"
L4 = "NVIDIA L4 (22GB)"
L40S = "NVIDIA L40S (45GB)"
RTX_PRO = "NVIDIA RTX PRO 6000 Blackwell Server Edition (95GB)"


@pytest.mark.parametrize(
    ("wanted", "installed"),
    [
        ("H100-80GB", H100),  # DeepInfra / plan catalogue spelling
        ("H100", H100),  # Tensormesh GPU_TYPE_H100
        ("NVIDIA H100 80GB HBM3 (80GB)", H100),  # the driver's own name
        ("H200-141GB", H200),  # 141 vs 140 GiB: rounding differs
        ("A100", A100_40),
        ("L4-24GB", L4),  # 23034 MiB reported
        ("L40S-48GB", L40S),
        ("RTXPRO6000-96GB", RTX_PRO),  # words joined in the catalogue
        ("h100", H100),  # case does not matter
    ],
)
def test_catalogue_names_match_the_driver_names(wanted: str, installed: str) -> None:
    assert gpu_type_matches(wanted, installed)


@pytest.mark.parametrize(
    ("wanted", "installed"),
    [
        ("L4-24GB", L40S),  # a prefix of another model is not that model
        ("L4", L40S),
        ("A100-80GB", A100_40),  # same model, too little memory
        ("H100-80GB", H200),
        ("B200-180GB", H100),
        ("H10", H100),
    ],
)
def test_other_models_or_memory_do_not_match(wanted: str, installed: str) -> None:
    assert not gpu_type_matches(wanted, installed)
