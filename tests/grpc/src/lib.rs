//! A tonic service generated at build time from `proto/orders.proto`, served with
//! `ServerLayer` and called through `ClientLayer` over a real channel on loopback.

use std::net::SocketAddr;

use maximus_trace::http::{ClientLayer, ClientService, ServerLayer};
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Channel, Server};
use tonic::{Request, Response, Status};
use tower_layer::Layer as _;

/// The generated messages, server and client of `shop.v1`.
pub mod shop {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("shop.v1");
}

use shop::orders_client::OrdersClient;
use shop::orders_server::{Orders, OrdersServer};
use shop::{CancelReply, CancelRequest, PlaceReply, PlaceRequest, TrackRequest, TrackUpdate};

/// The service: `Place` succeeds, `Cancel` fails (INTERNAL for order 0, NOT_FOUND for
/// others), `Track` sends one update then fails UNAVAILABLE.
#[derive(Debug, Default)]
pub struct Shop;

#[tonic::async_trait]
impl Orders for Shop {
    async fn place(&self, request: Request<PlaceRequest>) -> Result<Response<PlaceReply>, Status> {
        let order_id = reserve(&request.get_ref().item).await;
        Ok(Response::new(PlaceReply { order_id }))
    }

    async fn cancel(&self, request: Request<CancelRequest>) -> Result<Response<CancelReply>, Status> {
        match request.get_ref().order_id {
            0 => Err(Status::internal("ledger unavailable")),
            id => Err(Status::not_found(format!("no order {id}"))),
        }
    }

    type TrackStream = tokio_stream::Iter<std::vec::IntoIter<Result<TrackUpdate, Status>>>;

    async fn track(&self, _: Request<TrackRequest>) -> Result<Response<Self::TrackStream>, Status> {
        let updates = vec![
            Ok(TrackUpdate {
                state: "packed".to_owned(),
            }),
            Err(Status::unavailable("tracker offline")),
        ];
        Ok(Response::new(tokio_stream::iter(updates)))
    }
}

/// Work done inside the handler: a span of its own, under the server span.
#[maximus_trace::trace_span]
async fn reserve(item: &str) -> u64 {
    tokio::task::yield_now().await;
    item.len() as u64
}

/// Serves [`Shop`] behind `ServerLayer` on a loopback port.
pub async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = Server::builder()
        .layer(ServerLayer::new())
        .add_service(OrdersServer::new(Shop))
        .serve_with_incoming(TcpListenerStream::new(listener));
    tokio::spawn(async move { server.await.expect("serve") });
    addr
}

/// A client of `addr` whose channel goes through `ClientLayer`.
pub async fn client(addr: SocketAddr) -> OrdersClient<ClientService<Channel>> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    OrdersClient::new(ClientLayer::new().layer(channel))
}
