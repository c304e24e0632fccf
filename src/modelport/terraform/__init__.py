"""The Terraform provider `terraform-provider-tir` (docs/terraform.md): TIR's
`tir_model_endpoint` and `tir_model_endpoint_plans` (seed 001) over the TIR dialect, and
`modelport_endpoint` / `modelport_token` over the native API. It speaks HTTP only."""
