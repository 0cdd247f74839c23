//! A webhook receiver on loopback: a real HTTP/1.1 server (std sockets, one thread)
//! that refuses the first N posts with 503, then accepts, and keeps every post.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct Post {
    pub path: String,
    pub idempotency_key: Option<String>,
    pub body: Value,
    pub accepted: bool,
}

pub struct Webhook {
    pub addr: SocketAddr,
    posts: Arc<Mutex<Vec<Post>>>,
}

impl Webhook {
    /// Listens on `addr` (port 0 for any) and refuses the first `refuse` posts.
    pub fn start(addr: &str, refuse: usize) -> Webhook {
        let listener = TcpListener::bind(addr).expect("bind the webhook receiver");
        let addr = listener.local_addr().unwrap();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&posts);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some(mut post) = read_post(&mut stream) else { continue };
                let mut seen = seen.lock().unwrap();
                post.accepted = seen.len() >= refuse;
                let reply: &[u8] = if post.accepted {
                    b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                } else {
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 11\r\nconnection: close\r\n\r\nbusy, later"
                };
                seen.push(post);
                let _ = stream.write_all(reply);
            }
        });
        Webhook { addr, posts }
    }

    pub fn url(&self) -> String {
        format!("http://{}/frames", self.addr)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// Waits until `pred` holds over all posts so far.
    pub fn wait(&self, what: &str, timeout: Duration, pred: impl Fn(&[Post]) -> bool) -> Vec<Post> {
        let deadline = Instant::now() + timeout;
        loop {
            let posts = self.posts();
            if pred(&posts) {
                return posts;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; posts: {posts:#?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn read_post(stream: &mut std::net::TcpStream) -> Option<Post> {
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?, parts.next()?.to_string());
    let (mut len, mut key) = (0usize, None);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (name, value) = h.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = value.trim().parse().ok()?,
            "idempotency-key" => key = Some(value.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    if method != "POST" {
        return None;
    }
    Some(Post {
        path,
        idempotency_key: key,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
        accepted: false,
    })
}
