//! vmpush's adapters: the implementations of the domain's ports that talk to networks.
//! For now the StArMap APIv2 client; S3, EC2, SNS, Step Functions, RHSM and Azure adapters
//! join it as the pipeline grows.

pub mod starmap;
