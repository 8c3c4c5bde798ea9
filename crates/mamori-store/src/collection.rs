//! Typed document collections: JSON documents under `(namespace, partition, key)`.

use std::marker::PhantomData;

use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, Tx};

/// A typed collection of documents, declared once by a service:
/// `const TOPICS: Collection<Topic> = Collection::new("sns.topics");`
#[derive(Debug)]
pub struct Collection<T> {
    ns: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Collection<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Collection<T> {}

impl<T: Serialize + DeserializeOwned> Collection<T> {
    /// A collection in namespace `ns` (by convention `<service>.<kind>`).
    pub const fn new(ns: &'static str) -> Self {
        Self { ns, _t: PhantomData }
    }

    /// The document at `key`, if any.
    pub fn get(&self, tx: &Tx<'_>, part: &str, key: &str) -> Result<Option<T>> {
        let body: Option<Vec<u8>> = tx
            .tx
            .prepare_cached("SELECT body FROM documents WHERE ns = ?1 AND part = ?2 AND key = ?3")?
            .query_row(params![self.ns, part, key], |r| r.get(0))
            .optional()?;
        body.map(|b| serde_json::from_slice(&b).map_err(Into::into)).transpose()
    }

    /// Whether a document exists at `key`.
    pub fn contains(&self, tx: &Tx<'_>, part: &str, key: &str) -> Result<bool> {
        let n: i64 = tx
            .tx
            .prepare_cached(
                "SELECT COUNT(*) FROM documents WHERE ns = ?1 AND part = ?2 AND key = ?3",
            )?
            .query_row(params![self.ns, part, key], |r| r.get(0))?;
        Ok(n > 0)
    }

    /// Inserts or replaces the document at `key`.
    pub fn put(&self, tx: &Tx<'_>, part: &str, key: &str, value: &T) -> Result<()> {
        let body = serde_json::to_vec(value)?;
        tx.tx
            .prepare_cached(
                "INSERT OR REPLACE INTO documents (ns, part, key, body) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![self.ns, part, key, body])?;
        Ok(())
    }

    /// Deletes the document at `key`; true if there was one.
    pub fn delete(&self, tx: &Tx<'_>, part: &str, key: &str) -> Result<bool> {
        let n = tx
            .tx
            .prepare_cached("DELETE FROM documents WHERE ns = ?1 AND part = ?2 AND key = ?3")?
            .execute(params![self.ns, part, key])?;
        Ok(n > 0)
    }

    /// Up to `limit` documents whose key starts with `prefix` and sorts after `after`,
    /// in key order.
    pub fn scan(
        &self,
        tx: &Tx<'_>,
        part: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(String, T)>> {
        let mut stmt = tx.tx.prepare_cached(
            "SELECT key, body FROM documents WHERE ns = ?1 AND part = ?2 AND key >= ?3 AND key > ?4
             AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?5",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(params![self.ns, part, prefix, after.unwrap_or(""), limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?;
        let mut res = Vec::new();
        for row in rows {
            let (key, body) = row?;
            res.push((key, serde_json::from_slice(&body)?));
        }
        Ok(res)
    }

    /// Every document of a partition, in key order.
    pub fn all(&self, tx: &Tx<'_>, part: &str) -> Result<Vec<(String, T)>> {
        self.scan(tx, part, "", None, usize::MAX)
    }

    /// Every document of the collection across partitions, as `(partition, key, doc)`.
    pub fn everywhere(&self, tx: &Tx<'_>) -> Result<Vec<(String, String, T)>> {
        let mut stmt = tx.tx.prepare_cached(
            "SELECT part, key, body FROM documents WHERE ns = ?1 ORDER BY part, key",
        )?;
        let rows = stmt.query_map(params![self.ns], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, Vec<u8>>(2)?))
        })?;
        let mut res = Vec::new();
        for row in rows {
            let (part, key, body) = row?;
            res.push((part, key, serde_json::from_slice(&body)?));
        }
        Ok(res)
    }

    /// The number of documents in a partition.
    pub fn count(&self, tx: &Tx<'_>, part: &str) -> Result<usize> {
        let n: i64 = tx
            .tx
            .prepare_cached("SELECT COUNT(*) FROM documents WHERE ns = ?1 AND part = ?2")?
            .query_row(params![self.ns, part], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;

    const ITEMS: Collection<u32> = Collection::new("test.items");

    #[test]
    fn scan_by_prefix_and_page() {
        let store = Store::in_memory().unwrap();
        store
            .write(|tx| {
                for (k, v) in [("a/1", 1), ("a/2", 2), ("a/3", 3), ("b/1", 4)] {
                    ITEMS.put(tx, "p", k, &v)?;
                }
                ITEMS.put(tx, "other", "a/9", &9)
            })
            .unwrap();
        let got = store.read(|tx| ITEMS.scan(tx, "p", "a/", None, 2)).unwrap();
        assert_eq!(got, vec![("a/1".into(), 1), ("a/2".into(), 2)]);
        let got = store.read(|tx| ITEMS.scan(tx, "p", "a/", Some("a/2"), 10)).unwrap();
        assert_eq!(got, vec![("a/3".into(), 3)]);
        assert_eq!(store.read(|tx| ITEMS.count(tx, "p")).unwrap(), 4);
        assert!(store.write(|tx| ITEMS.delete(tx, "p", "a/1")).unwrap());
        assert!(!store.write(|tx| ITEMS.delete(tx, "p", "a/1")).unwrap());
        assert_eq!(store.read(|tx| ITEMS.everywhere(tx)).unwrap().len(), 4);
    }
}
