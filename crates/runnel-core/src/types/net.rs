//! Facts about URLs that every layer needs.

/// The origin of a URL (scheme, host and port, with the scheme's default
/// port filled in); None for a URL that does not parse.
pub fn origin(s: &str) -> Option<String> {
    let u = url::Url::parse(s.trim()).ok()?;
    Some(format!(
        "{}://{}:{}",
        u.scheme(),
        u.host_str()?.to_ascii_lowercase(),
        u.port_or_known_default()?
    ))
}

/// True for URLs whose host is localhost or a loopback address.
pub fn is_loopback_url(s: &str) -> bool {
    let Ok(u) = url::Url::parse(s) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
