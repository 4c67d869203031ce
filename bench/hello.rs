//! The benchmark's ceiling: a bare actix-web hello-world, built from this crate's lock file (so the
//! same actix-web version) and with the same server settings as `envcredit serve` (actix-web's
//! defaults: one worker per core). `bench/run.py` loads it and `envcredit serve` alike.
//!
//! Usage: `hello ADDR` (e.g. `127.0.0.1:0`); prints `listening on PORT` once bound.

use std::io::Write;
use std::net::TcpListener;

use actix_web::{web, App, HttpResponse, HttpServer};

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_string());
    let listener = TcpListener::bind(addr)?;
    let port = listener.local_addr()?.port();
    // The same runtime `envcredit serve` starts: an actix system on this thread, workers per core.
    actix_web::rt::System::new().block_on(async move {
        let server = HttpServer::new(|| {
            App::new().route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("Hello, world!") }),
            )
        })
        .listen(listener)?
        .run();
        println!("listening on {port}");
        std::io::stdout().flush()?;
        server.await
    })
}
