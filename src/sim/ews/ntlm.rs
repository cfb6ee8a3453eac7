//! NTLM messages as the simulator reads and writes them (MS-NLMP), apart from any client's code:
//! a Negotiate of any length the protocol allows (16 bytes of header and flags, with or without
//! the domain, workstation and version fields — common NTLM libraries send 32 or 40 bytes without
//! a domain or workstation), the Challenge Exchange 2016 sends back, and an Authenticate read
//! with every offset checked, its NTLMv2 response verified.

use hmac::Mac;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
const UNICODE: u32 = 0x0000_0001;
/// What the challenge always offers: Unicode, target requested, NTLM, a domain target,
/// extended session security, target information and a version.
const SERVER_FLAGS: u32 = UNICODE | 0x0000_0004 | 0x0000_0200 | 0x0001_0000 | 0x0008_0000 | 0x0080_0000 | 0x0200_0000;
/// What the challenge echoes of the client's wishes: sign, seal, always sign, 128-bit, key
/// exchange, 56-bit.
const ECHOED_FLAGS: u32 = 0x0000_0010 | 0x0000_0020 | 0x0000_8000 | 0x2000_0000 | 0x4000_0000 | 0x8000_0000;

/// A message a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ClientMessage {
    Negotiate { flags: u32 },
    Authenticate(Authenticate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Authenticate {
    pub(super) user: String,
    pub(super) domain: String,
    pub(super) nt_response: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The payload a security buffer (length, allocated, offset) at `at` points to.
fn field(b: &[u8], at: usize) -> Option<&[u8]> {
    let len = usize::from(u16_at(b, at)?);
    let offset = usize::try_from(u32_at(b, at + 4)?).ok()?;
    if len == 0 {
        return Some(&[]);
    }
    b.get(offset..offset.checked_add(len)?)
}

fn text(bytes: &[u8], unicode: bool) -> Option<String> {
    if unicode {
        let units: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        String::from_utf16(&units).ok()
    } else {
        Some(bytes.iter().map(|b| char::from(*b)).collect())
    }
}

/// A client's message, or `None` for anything that is not one.
pub(super) fn read(b: &[u8]) -> Option<ClientMessage> {
    if b.get(..8)? != SIGNATURE {
        return None;
    }
    match u32_at(b, 8)? {
        1 => Some(ClientMessage::Negotiate { flags: u32_at(b, 12)? }),
        3 => {
            // Flags follow the six security buffers; a client without them is Unicode.
            let unicode = u32_at(b, 60).is_none_or(|f| f & UNICODE != 0);
            Some(ClientMessage::Authenticate(Authenticate {
                nt_response: field(b, 20)?.to_vec(),
                domain: text(field(b, 28)?, unicode)?,
                user: text(field(b, 36)?, unicode)?,
            }))
        }
        _ => None,
    }
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// An AV pair of the target information.
fn av(id: u16, value: &[u8]) -> Vec<u8> {
    let mut out = id.to_le_bytes().to_vec();
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// The Challenge for a Negotiate with `client_flags`: domain `EXAMPLE`, server `EXCH01`.
pub(super) fn challenge(server_challenge: [u8; 8], client_flags: u32) -> Vec<u8> {
    const HEADER: u32 = 56;
    let target = utf16("EXAMPLE");
    let mut info = av(2, &utf16("EXAMPLE"));
    info.extend(av(1, &utf16("EXCH01")));
    info.extend(av(4, &utf16("example.com")));
    info.extend(av(3, &utf16("exch01.example.com")));
    info.extend(av(0, &[]));
    let buffer = |len: usize, offset: u32| {
        let len = u16::try_from(len).unwrap_or(0).to_le_bytes();
        [len[0], len[1], len[0], len[1]].into_iter().chain(offset.to_le_bytes()).collect::<Vec<u8>>()
    };
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&2u32.to_le_bytes());
    m.extend(buffer(target.len(), HEADER));
    m.extend_from_slice(&(SERVER_FLAGS | (client_flags & ECHOED_FLAGS)).to_le_bytes());
    m.extend_from_slice(&server_challenge);
    m.extend_from_slice(&[0; 8]);
    m.extend(buffer(info.len(), HEADER + u32::try_from(target.len()).unwrap_or(0)));
    // Windows Server 2016 (10.0.14393), NTLM revision 15.
    m.extend_from_slice(&[10, 0, 0x39, 0x38, 0, 0, 0, 15]);
    m.extend(target);
    m.extend(info);
    m
}

/// The NTLMv2 response: HMAC-MD5 under NTOWFv2(password, user, domain) of the server challenge
/// and the client's blob must equal the NTProofStr in front of that blob.
pub(super) fn v2_valid(a: &Authenticate, server_challenge: [u8; 8], password: &str) -> bool {
    use md4::Digest;
    type HmacMd5 = hmac::Hmac<md5::Md5>;
    if a.nt_response.len() <= 16 {
        return false;
    }
    let nt_hash = md4::Md4::digest(utf16(password));
    let Ok(mut owf) = <HmacMd5 as Mac>::new_from_slice(&nt_hash) else { return false };
    owf.update(&utf16(&a.user.to_uppercase()));
    owf.update(&utf16(&a.domain));
    let key = owf.finalize().into_bytes();
    let (proof, blob) = a.nt_response.split_at(16);
    let Ok(mut mac) = <HmacMd5 as Mac>::new_from_slice(&key) else { return false };
    mac.update(&server_challenge);
    mac.update(blob);
    mac.verify_slice(proof).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_of_every_length_the_protocol_allows_are_read_and_garbage_is_not() {
        let mut m = SIGNATURE.to_vec();
        m.extend_from_slice(&1u32.to_le_bytes());
        m.extend_from_slice(&0xe208_8297u32.to_le_bytes());
        assert_eq!(read(&m), Some(ClientMessage::Negotiate { flags: 0xe208_8297 }), "16 bytes");
        m.extend_from_slice(&[0; 16]);
        assert!(read(&m).is_some(), "32 bytes: empty domain and workstation");
        m.extend_from_slice(&[10, 0, 0x63, 0x45, 0, 0, 0, 15]);
        assert!(read(&m).is_some(), "40 bytes: with a version");
        assert_eq!(read(b"NTLMSSP\0\x01\0\0"), None);
        assert_eq!(read(b"not ntlm at all, not at all"), None);
        // An Authenticate whose buffers point outside the message is refused, not a panic.
        let mut a = SIGNATURE.to_vec();
        a.extend_from_slice(&3u32.to_le_bytes());
        a.extend_from_slice(&[0xff; 60]);
        assert_eq!(read(&a), None);
    }
}
