//! The client's address, decided once per request: the TCP peer — unless the peer is one of the
//! configured trusted reverse proxies, then the last address in its client-address header that
//! is not itself a trusted proxy (each proxy appends the address it saw; what stands before that
//! is the client's own claim and worth nothing). Put in the request as [`ClientAddr`] for the
//! rate limiters, the login limiter and the logs.

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

/// Who sent the request, as far as Switchboard can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Which peers are believed about the client, and the header they name it in.
#[derive(Debug, Clone)]
pub struct ClientAddrPolicy {
    trusted: Vec<IpNet>,
    header: HeaderName,
}

impl ClientAddrPolicy {
    pub fn new(trusted: Vec<IpNet>, header: HeaderName) -> Self {
        Self { trusted, header }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that `peer` sent with these headers.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusted(peer) {
            return peer;
        }
        // Every value of the header, in order, as one list; read from the nearest hop back.
        let hops: Vec<&str> =
            headers.get_all(&self.header).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
        let mut nearest_trusted = peer;
        for hop in hops.iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                // A trusted proxy wrote something that is not an address: believe nothing before it.
                break;
            };
            if !self.trusted(ip) {
                return ip;
            }
            nearest_trusted = ip;
        }
        nearest_trusted
    }
}

/// `192.0.2.1`, `2001:db8::1`, `192.0.2.1:4711` or `[2001:db8::1]:4711`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>().or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip())).ok().map(|ip| ip.to_canonical())
}

/// The layer that puts [`ClientAddr`] in every request.
pub async fn resolve(State(policy): State<Arc<ClientAddrPolicy>>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let client = policy.client(peer.ip(), req.headers());
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

impl ClientAddr {
    /// The client of a request: as [`resolve`] decided, else the TCP peer (else "unspecified",
    /// for requests that did not come over the network).
    pub fn of(extensions: &axum::http::Extensions) -> ClientAddr {
        extensions
            .get::<ClientAddr>()
            .copied()
            .or_else(|| extensions.get::<ConnectInfo<SocketAddr>>().map(|c| ClientAddr(c.0.ip().to_canonical())))
            .unwrap_or(ClientAddr(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(&parts.extensions))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trusted: &[&str]) -> ClientAddrPolicy {
        ClientAddrPolicy::new(trusted.iter().map(|t| t.parse().unwrap()).collect(), HeaderName::from_static("x-forwarded-for"))
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_client_is_the_tcp_peer_whatever_it_claims() {
        let p = policy(&[]);
        assert_eq!(p.client(ip("203.0.113.9"), &xff(&["198.51.100.1"])), ip("203.0.113.9"));
        let p = policy(&["10.0.0.0/8"]);
        assert_eq!(p.client(ip("203.0.113.9"), &xff(&["198.51.100.1"])), ip("203.0.113.9"), "the peer is not a trusted proxy");
    }

    #[test]
    fn behind_trusted_proxies_the_client_is_the_last_address_they_did_not_write_themselves() {
        let p = policy(&["10.0.0.0/8", "192.0.2.7/32"]);
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&["198.51.100.1"])), ip("198.51.100.1"));
        // The client claimed 1.2.3.4 itself; the proxies appended what they saw.
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&["1.2.3.4, 198.51.100.1, 192.0.2.7"])), ip("198.51.100.1"));
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&["1.2.3.4", "198.51.100.1:4711"])), ip("198.51.100.1"), "several header lines");
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&["[2001:db8::1]:443"])), ip("2001:db8::1"));
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&[])), ip("10.0.0.1"), "no header: the proxy itself");
        assert_eq!(p.client(ip("10.0.0.1"), &xff(&["1.2.3.4, not-an-address, 10.0.0.9"])), ip("10.0.0.9"), "nothing before garbage");
        assert_eq!(p.client(ip("::ffff:10.0.0.1"), &xff(&["198.51.100.1"])), ip("198.51.100.1"), "a v4 peer seen as v6");
    }
}
