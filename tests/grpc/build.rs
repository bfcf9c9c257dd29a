//! Generates the `shop.v1.Orders` service (server and client) from `proto/orders.proto`,
//! compiled by `protox` (no `protoc` binary).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/orders.proto");
    let descriptors = protox::compile(["orders.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(descriptors)?;
    Ok(())
}
