//! OpenTelemetry: with an OTLP endpoint configured, request spans reach the
//! collector over OTLP/HTTP. A minimal collector on loopback counts them.
//! (Its own test binary: the tracing subscriber is process-global.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::TestApp;
use consumact_api::config::LogFormat;
use consumact_api::telemetry;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Accepts OTLP/HTTP posts and counts those to `/v1/traces`.
async fn fake_collector() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 1 << 16];
                let mut seen = Vec::new();
                // Read the head and as much body as arrives promptly.
                while let Ok(Ok(read)) = tokio::time::timeout(
                    std::time::Duration::from_millis(200),
                    stream.read(&mut buffer),
                )
                .await
                {
                    if read == 0 {
                        break;
                    }
                    seen.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&seen);
                    if text.contains("\r\n\r\n") {
                        break;
                    }
                }
                if String::from_utf8_lossy(&seen).starts_with("POST /v1/traces") {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (endpoint, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_are_exported_over_otlp() {
    let (endpoint, received) = fake_collector().await;
    let telemetry = telemetry::init(LogFormat::Text, Some(&endpoint)).expect("exporter set up");
    let app = TestApp::spawn().await;
    app.gql_ok(None, "query Tags { valueTags { slug } }", json!({}))
        .await;
    tokio::task::spawn_blocking(move || telemetry.shutdown())
        .await
        .unwrap();
    assert!(
        received.load(Ordering::SeqCst) >= 1,
        "no trace export reached the collector"
    );
}
