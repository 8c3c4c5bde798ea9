//! A minimal SMTP client (RFC 5321) for email subscriptions when `--smtp-url` names a
//! relay: EHLO, MAIL FROM, RCPT TO, DATA, QUIT over plain TCP.
//!
//! GAP: no STARTTLS and no authentication (a local relay such as a mail catcher or a
//! host MTA is expected), and a failed send is logged, not retried; the message stays
//! in the outbox either way.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The sender address of every email, as AWS uses it.
pub const SENDER: &str = "no-reply@sns.amazonaws.com";

/// A relay from `smtp://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// `host:port`.
    pub addr: String,
}

impl Relay {
    /// Parses `smtp://host[:port]` (port 25 by default).
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| format!("{url:?}: the SMTP URL must start with smtp://"))?;
        let host_port = rest.trim_end_matches('/');
        if host_port.is_empty() || host_port.contains('/') || host_port.contains('@') {
            return Err(format!("{url:?}: expected smtp://host:port (no path, no credentials)"));
        }
        let addr = if host_port.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
            host_port.to_owned()
        } else {
            format!("{host_port}:25")
        };
        Ok(Self { addr })
    }
}

/// One email.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    /// Display name of the sender (the topic's DisplayName).
    pub from_name: &'a str,
    /// Recipient.
    pub to: &'a str,
    /// Subject line.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: &'a str,
}

fn header_text(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() { clean } else { format!("=?UTF-8?B?{}?=", B64.encode(clean)) }
}

/// The message text for DATA: headers, a blank line, the body with dot-stuffing and
/// CRLF line ends, and the terminating dot.
pub fn data(mail: &Mail<'_>, date: &str, message_id: &str) -> String {
    let mut res = format!(
        "From: {} <{SENDER}>\r\nTo: <{}>\r\nSubject: {}\r\nDate: {date}\r\nMessage-ID: <{message_id}@sns.amazonaws.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
        header_text(mail.from_name),
        mail.to,
        header_text(mail.subject),
    );
    for line in mail.body.lines() {
        if line.starts_with('.') {
            res.push('.');
        }
        res.push_str(line);
        res.push_str("\r\n");
    }
    res.push_str(".\r\n");
    res
}

async fn reply(reader: &mut BufReader<TcpStream>, want: &[u16]) -> Result<(), String> {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
            return Err("the relay closed the connection".into());
        }
        let code: u16 = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("bad reply {line:?}"))?;
        if line.as_bytes().get(3) == Some(&b'-') {
            continue;
        }
        return if want.contains(&code) {
            Ok(())
        } else {
            Err(format!("relay answered {}", line.trim_end()))
        };
    }
}

/// Sends `mail` through `relay`.
pub async fn send(
    relay: &Relay,
    mail: &Mail<'_>,
    date: &str,
    message_id: &str,
) -> Result<(), String> {
    let session = async {
        let stream = TcpStream::connect(&relay.addr).await.map_err(|e| e.to_string())?;
        let mut reader = BufReader::new(stream);
        reply(&mut reader, &[220]).await?;
        let steps: [(String, &[u16]); 4] = [
            ("EHLO mamori\r\n".into(), &[250]),
            (format!("MAIL FROM:<{SENDER}>\r\n"), &[250]),
            (format!("RCPT TO:<{}>\r\n", mail.to), &[250, 251]),
            ("DATA\r\n".into(), &[354]),
        ];
        for (cmd, want) in steps {
            reader.get_mut().write_all(cmd.as_bytes()).await.map_err(|e| e.to_string())?;
            reply(&mut reader, want).await?;
        }
        reader
            .get_mut()
            .write_all(data(mail, date, message_id).as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        reply(&mut reader, &[250]).await?;
        reader.get_mut().write_all(b"QUIT\r\n").await.map_err(|e| e.to_string())?;
        let _ = reply(&mut reader, &[221]).await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(30), session)
        .await
        .map_err(|_| "the relay did not answer within 30 s".to_owned())?
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[test]
    fn relay_urls() {
        assert_eq!(Relay::parse("smtp://127.0.0.1:2525").unwrap().addr, "127.0.0.1:2525");
        assert_eq!(Relay::parse("smtp://mail.local").unwrap().addr, "mail.local:25");
        assert!(Relay::parse("http://x").is_err());
        assert!(Relay::parse("smtp://user:pw@x:25").is_err());
    }

    #[test]
    fn data_is_dot_stuffed_and_headers_are_encoded() {
        let mail = Mail {
            from_name: "Alerts",
            to: "a@example.com",
            subject: "Ünïcode",
            body: "hi\n.hidden\nend",
        };
        let text = data(&mail, "Thu, 1 Jan 2024 00:00:00 +0000", "m1");
        assert!(text.contains("Subject: =?UTF-8?B?"));
        assert!(text.contains("\r\n\r\nhi\r\n..hidden\r\nend\r\n.\r\n"));
        assert!(text.starts_with("From: Alerts <no-reply@sns.amazonaws.com>\r\n"));
    }

    #[tokio::test]
    async fn sends_through_a_relay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let relay = Relay { addr: listener.local_addr().unwrap().to_string() };
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut log = String::new();
            s.write_all(b"220 test ESMTP\r\n").await.unwrap();
            let mut buf = vec![0u8; 65536];
            let mut in_data = false;
            loop {
                let n = s.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                let chunk = String::from_utf8_lossy(&buf[..n]).into_owned();
                log.push_str(&chunk);
                let answer: &[u8] = if in_data {
                    if !chunk.ends_with("\r\n.\r\n") {
                        continue;
                    }
                    in_data = false;
                    b"250 queued\r\n"
                } else if chunk.starts_with("EHLO") {
                    b"250-test\r\n250 8BITMIME\r\n"
                } else if chunk.starts_with("DATA") {
                    in_data = true;
                    b"354 go\r\n"
                } else if chunk.starts_with("QUIT") {
                    s.write_all(b"221 bye\r\n").await.unwrap();
                    break;
                } else {
                    b"250 ok\r\n"
                };
                s.write_all(answer).await.unwrap();
            }
            log
        });
        let mail = Mail { from_name: "T", to: "a@example.com", subject: "S", body: "body" };
        send(&relay, &mail, "Thu, 1 Jan 2024 00:00:00 +0000", "m1").await.unwrap();
        let log = server.await.unwrap();
        assert!(log.contains("RCPT TO:<a@example.com>\r\n"), "{log}");
        assert!(log.contains("Subject: S\r\n"), "{log}");
    }
}
