//! Object bodies on disk, encrypted at rest as SSE-S3 describes
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html>):
//! each body has its own AES-256-GCM data key, and the data key is stored in the
//! object's metadata wrapped by a master key that lives in a separate file
//! (`<data dir>/s3/master.key`), never next to the bodies.
//!
//! A body is written to `tmp/`, fsynced and renamed into `objects/` before its metadata
//! is committed, so a crash leaves at most an unreferenced file, which [`BlobStore::sweep`]
//! removes at start. A file is a sequence of segments of up to [`SEGMENT`] plaintext
//! bytes, each `nonce (12 bytes) || ciphertext || tag (16 bytes)` with the segment's
//! index as associated data, so a byte range reads and decrypts only the segments it
//! touches and segments cannot be reordered.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use mamori_aws::AwsError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// Plaintext bytes per encrypted segment.
pub const SEGMENT: usize = 1024 * 1024;
const SEALED_SEGMENT: usize = NONCE_LEN + SEGMENT + TAG_LEN;

/// Where bodies live, and the master key.
pub struct BlobStore {
    objects: PathBuf,
    tmp: PathBuf,
    master: Aes256Gcm,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("objects", &self.objects).finish_non_exhaustive()
    }
}

/// A stored body: its file id and its wrapped data key.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub id: String,
    pub wrapped_key: String,
}

impl BlobStore {
    /// Opens (creating) `<dir>/s3`, with its master key.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let root = dir.join("s3");
        let objects = root.join("objects");
        let tmp = root.join("tmp");
        fs::create_dir_all(&objects)?;
        fs::create_dir_all(&tmp)?;
        let key_path = root.join("master.key");
        let key = match fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k,
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a 32-byte key",
                    key_path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k: [u8; 32] = rand::random();
                write_durably(&key_path, &root.join("master.key.tmp"), &k)?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        let master = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        Ok(Self { objects, tmp, master })
    }

    /// Encrypts `plain` under a fresh data key and writes it durably.
    pub fn put(&self, plain: &[u8]) -> Result<StoredBlob, AwsError> {
        let data_key: [u8; 32] = rand::random();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key));
        let mut sealed = Vec::with_capacity(plain.len() + plain.len() / SEGMENT * 28 + 28);
        for (i, chunk) in plain.chunks(SEGMENT).enumerate() {
            sealed.extend_from_slice(&seal(&cipher, chunk, &(i as u64).to_be_bytes())?);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        write_durably(&self.objects.join(&id), &self.tmp.join(&id), &sealed)
            .map_err(AwsError::internal)?;
        let wrapped_key = B64.encode(seal(&self.master, &data_key, b"")?);
        Ok(StoredBlob { id, wrapped_key })
    }

    /// Reads and decrypts a whole body.
    pub fn get(&self, id: &str, wrapped_key: &str) -> Result<Vec<u8>, AwsError> {
        let cipher = self.data_cipher(wrapped_key)?;
        let sealed = fs::read(self.path(id)?).map_err(AwsError::internal)?;
        let mut out = Vec::with_capacity(sealed.len());
        for (i, seg) in sealed.chunks(SEALED_SEGMENT).enumerate() {
            out.extend_from_slice(&open(&cipher, seg, &(i as u64).to_be_bytes())?);
        }
        Ok(out)
    }

    /// Reads and decrypts `len` bytes from `start`, touching only the segments they lie in.
    pub fn get_range(
        &self,
        id: &str,
        wrapped_key: &str,
        start: u64,
        len: u64,
    ) -> Result<Vec<u8>, AwsError> {
        use std::io::{Read as _, Seek as _, SeekFrom};
        if len == 0 {
            return Ok(Vec::new());
        }
        let cipher = self.data_cipher(wrapped_key)?;
        let seg = SEGMENT as u64;
        let (first, last) = (start / seg, (start + len - 1) / seg);
        let mut f = fs::File::open(self.path(id)?).map_err(AwsError::internal)?;
        f.seek(SeekFrom::Start(first * SEALED_SEGMENT as u64)).map_err(AwsError::internal)?;
        let mut sealed = Vec::new();
        f.take((last - first + 1) * SEALED_SEGMENT as u64)
            .read_to_end(&mut sealed)
            .map_err(AwsError::internal)?;
        let mut plain = Vec::with_capacity(usize::try_from(len).unwrap_or(0) + SEGMENT);
        for (i, chunk) in sealed.chunks(SEALED_SEGMENT).enumerate() {
            plain.extend_from_slice(&open(&cipher, chunk, &(first + i as u64).to_be_bytes())?);
        }
        let skip = usize::try_from(start - first * seg).map_err(AwsError::internal)?;
        let end = skip + usize::try_from(len).map_err(AwsError::internal)?;
        plain
            .get(skip..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| AwsError::internal("object body shorter than its size"))
    }

    fn data_cipher(&self, wrapped_key: &str) -> Result<Aes256Gcm, AwsError> {
        let wrapped = B64.decode(wrapped_key).map_err(AwsError::internal)?;
        let data_key = open(&self.master, &wrapped, b"")?;
        Aes256Gcm::new_from_slice(&data_key).map_err(AwsError::internal)
    }

    /// Removes a body file; a missing file is not an error.
    pub fn remove(&self, id: &str) {
        let Ok(path) = self.path(id) else { return };
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(target: "s3", blob = id, error = %e, "cannot remove object body");
        }
    }

    /// Removes every body file not in `referenced` and every leftover temp file: what
    /// a crash between the rename and the metadata commit leaves. Returns the count.
    pub fn sweep(&self, referenced: &HashSet<String>) -> usize {
        let mut n = 0;
        for dir in [&self.tmp, &self.objects] {
            let Ok(entries) = fs::read_dir(dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if (dir == &self.tmp || !referenced.contains(&name))
                    && fs::remove_file(entry.path()).is_ok()
                {
                    n += 1;
                }
            }
        }
        n
    }

    /// Removes every body (the admin reset).
    pub fn clear(&self) {
        self.sweep(&HashSet::new());
    }

    /// The path of a body file, refusing ids that are not ours.
    pub fn path(&self, id: &str) -> Result<PathBuf, AwsError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AwsError::internal(format!("bad blob id {id:?}")));
        }
        Ok(self.objects.join(id))
    }
}

fn seal(cipher: &Aes256Gcm, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, AwsError> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
        .map_err(|_| AwsError::internal("encryption failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(cipher: &Aes256Gcm, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, AwsError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(AwsError::internal("object body truncated"));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| AwsError::internal("object body fails authentication"))
}

/// Writes `bytes` to `tmp`, fsyncs it, renames it to `path` and fsyncs the directory.
fn write_durably(path: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_encrypted_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let plain = b"the quick brown fox jumps over the lazy dog".repeat(10);
        let blob = store.put(&plain).unwrap();
        let on_disk = fs::read(store.path(&blob.id).unwrap()).unwrap();
        assert!(!on_disk.windows(9).any(|w| w == b"quick bro"));
        assert_eq!(store.get(&blob.id, &blob.wrapped_key).unwrap(), plain);
        // Ranges across segment boundaries decrypt only what they touch.
        let big: Vec<u8> = (0..SEGMENT * 2 + 100).map(|i| (i % 251) as u8).collect();
        let b = store.put(&big).unwrap();
        for (start, len) in
            [(0, 10), (SEGMENT as u64 - 5, 10), (SEGMENT as u64 * 2, 100), (3, SEGMENT as u64 * 2)]
        {
            let got = store.get_range(&b.id, &b.wrapped_key, start, len).unwrap();
            assert_eq!(got, &big[start as usize..(start + len) as usize], "{start}+{len}");
        }
        assert_eq!(store.get(&b.id, &b.wrapped_key).unwrap(), big);
        // The master key survives a reopen.
        let again = BlobStore::open(dir.path()).unwrap();
        assert_eq!(again.get(&blob.id, &blob.wrapped_key).unwrap(), plain);
        // Sweep keeps referenced bodies only.
        let orphan = store.put(b"orphan").unwrap();
        let keep: HashSet<String> = [blob.id.clone()].into();
        assert_eq!(
            store.sweep(&HashSet::from([blob.id.clone(), b.id.clone(), orphan.id.clone()])),
            0
        );
        assert_eq!(store.sweep(&keep), 2);
        assert!(store.get(&orphan.id, &orphan.wrapped_key).is_err());
        assert!(store.get(&blob.id, &blob.wrapped_key).is_ok());
    }
}
