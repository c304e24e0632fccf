"""`terraform-provider-tir`: the console script Terraform starts as the plugin."""

from __future__ import annotations

import sys

from modelport.terraform.provider import ModelportProvider
from modelport.terraform.tfcompat import serve


def main() -> None:
    serve(ModelportProvider(), sys.argv)


if __name__ == "__main__":
    main()
