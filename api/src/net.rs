//! Client addresses as the limits and keys see them: an IPv6 client is
//! one /64 (what one subscriber line usually holds), an IPv4-mapped IPv6
//! address is its IPv4 address.

use std::net::IpAddr;

/// The key an address is limited under: IPv4 as is, IPv6 by its /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}
