//! `Fn::Cidr`: divides an IPv4 or IPv6 block into equal subnets, following
//! <https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-cidr.html>.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a `Fn::Cidr` call cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The block is not `address/prefix`.
    #[error("invalid CIDR block {0}")]
    InvalidBlock(String),
    /// The count is outside 1..=256.
    #[error("count must be between 1 and 256, got {0}")]
    InvalidCount(u64),
    /// The subnet size does not fit in the block.
    #[error("cidr bits {bits} do not fit in block {block}")]
    InvalidBits {
        /// The block.
        block: String,
        /// The requested host bits.
        bits: u64,
    },
    /// The block has room for fewer subnets than requested.
    #[error("block {block} has room for fewer than {count} subnets")]
    TooMany {
        /// The block.
        block: String,
        /// The requested count.
        count: u64,
    },
}

/// Computes `Fn::Cidr [block, count, bits]`: `count` consecutive subnets of
/// `bits` host bits each (a `/(32 - bits)` or `/(128 - bits)`), from the start of `block`.
///
/// ```
/// let subnets = mamori_template::cidr::cidr("192.168.0.0/24", 6, 5).unwrap();
/// assert_eq!(subnets[..2], ["192.168.0.0/27", "192.168.0.32/27"]);
/// ```
pub fn cidr(block: &str, count: u64, bits: u64) -> Result<Vec<String>, CidrError> {
    let invalid = || CidrError::InvalidBlock(block.to_owned());
    let (addr, prefix) = block.trim().split_once('/').ok_or_else(invalid)?;
    let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    let (width, base): (u32, u128) = match addr {
        IpAddr::V4(a) => (32, u128::from(u32::from(a))),
        IpAddr::V6(a) => (128, u128::from(a)),
    };
    if prefix > width {
        return Err(invalid());
    }
    if !(1..=256).contains(&count) {
        return Err(CidrError::InvalidCount(count));
    }
    let host_room = u64::from(width - prefix);
    if bits == 0 || bits > host_room {
        return Err(CidrError::InvalidBits { block: block.to_owned(), bits });
    }
    // The number of subnets that fit is 2^(subnet bits); only compare when it is small
    // enough to matter, which also keeps the shift in range.
    let subnet_bits = host_room - bits;
    if subnet_bits < 9 && count > 1u64 << subnet_bits {
        return Err(CidrError::TooMany { block: block.to_owned(), count });
    }
    let network =
        if prefix == 0 { 0 } else { base & (u128::MAX << (128 - prefix)) >> (128 - width) };
    let network = if width == 32 { network & u128::from(u32::MAX) } else { network };
    let step = 1u128 << bits;
    let new_prefix = u64::from(width) - bits;
    let res = (0..u128::from(count))
        .map(|i| {
            let start = network + i * step;
            let text = if width == 32 {
                Ipv4Addr::from(u32::try_from(start).unwrap_or(0)).to_string()
            } else {
                Ipv6Addr::from(start).to_string()
            };
            format!("{text}/{new_prefix}")
        })
        .collect();
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Examples from the `Fn::Cidr` page, plus edge cases.
    #[test]
    fn cidr_cases() {
        type Case = (&'static str, u64, u64, Result<Vec<&'static str>, ()>);
        let cases: [Case; 8] = [
            (
                "192.168.0.0/24",
                6,
                5,
                Ok(vec![
                    "192.168.0.0/27",
                    "192.168.0.32/27",
                    "192.168.0.64/27",
                    "192.168.0.96/27",
                    "192.168.0.128/27",
                    "192.168.0.160/27",
                ]),
            ),
            ("10.0.0.0/16", 3, 8, Ok(vec!["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"])),
            // Host bits in the block are masked off first.
            ("10.0.5.7/16", 1, 8, Ok(vec!["10.0.0.0/24"])),
            ("2001:db8::/56", 2, 64, Ok(vec!["2001:db8::/64", "2001:db8:0:1::/64"])),
            ("10.0.0.0/24", 3, 9, Err(())),
            ("10.0.0.0/24", 3, 7, Err(())),
            ("10.0.0.0/24", 0, 4, Err(())),
            ("nope", 1, 4, Err(())),
        ];
        for (block, count, bits, want) in cases {
            let got = cidr(block, count, bits).map_err(|_| ());
            let want = want.map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>());
            assert_eq!(got, want, "cidr({block}, {count}, {bits})");
        }
    }

    #[test]
    fn whole_space_blocks() {
        assert_eq!(cidr("0.0.0.0/0", 2, 31).unwrap(), ["0.0.0.0/1", "128.0.0.0/1"]);
        assert_eq!(cidr("::/0", 1, 64).unwrap(), ["::/64"]);
    }
}
