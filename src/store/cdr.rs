//! CDR storage: records (deduplicated), dead letters, gaps, banner history, settings.

use super::{now_rfc3339, Store, StoreError};
use crate::cdr::parse::Record;
use crate::model::{BannerEvent, CdrGap};
use sqlx::{QueryBuilder, Row, Sqlite};

impl Store {
    /// Stores the records of one batch in one transaction and returns the indexes of those not
    /// seen before (a resent batch returns none). Returns once the data is committed.
    pub async fn insert_cdr_records(&self, bridge: &str, session: &str, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        let now = now_rfc3339();
        let mut tx = self.write_tx().await?;
        let mut fresh = Vec::with_capacity(records.len());
        for chunk in records.chunks(200) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR IGNORE INTO cdr_records (bridge, session, record_index, record_type, time, object_id, received_at, raw) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(bridge)
                    .push_bind(session)
                    .push_bind(r.record_index as i64)
                    .push_bind(r.kind.as_str())
                    .push_bind(&r.time)
                    .push_bind(&r.id)
                    .push_bind(&now)
                    .push_bind(&r.raw);
            });
            qb.push(" RETURNING record_index");
            let rows = qb.build().fetch_all(&mut *tx).await?;
            fresh.extend(rows.iter().map(|r| r.get::<i64, _>(0) as u64));
        }
        // Gaps CMS reported, in the same transaction, so a resend can neither lose nor repeat them.
        for r in records.iter().filter(|r| r.missing_before > 0 && fresh.contains(&r.record_index)) {
            sqlx::query("INSERT INTO cdr_gaps (at, bridge, session, record_index, missing) VALUES (?, ?, ?, ?, ?)")
                .bind(&now)
                .bind(bridge)
                .bind(session)
                .bind(r.record_index as i64)
                .bind(r.missing_before as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    pub async fn cdr_dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES (?, ?, ?, ?)")
            .bind(now_rfc3339())
            .bind(peer)
            .bind(reason)
            .bind(body)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn cdr_dead_letter_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_dead_letters").fetch_one(self.pool()).await?)
    }

    pub async fn cdr_record_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_records").fetch_one(self.pool()).await?)
    }

    pub async fn recent_cdr_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError> {
        let rows = sqlx::query("SELECT at, bridge, session, missing FROM cdr_gaps ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| CdrGap { at: r.get("at"), bridge: r.get("bridge"), session: r.get("session"), missing: r.get("missing") })
            .collect())
    }

    /// (bridge, raw record) of everything received since `since` (RFC 3339), oldest first, to
    /// rebuild the live state after a restart.
    pub async fn cdr_records_since(&self, since: &str) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query("SELECT bridge, session, raw FROM cdr_records WHERE received_at >= ? ORDER BY id")
            .bind(since)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|r| (r.get("bridge"), r.get("session"), r.get("raw"))).collect())
    }

    pub async fn banner_event(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(now_rfc3339())
            .bind(call_id)
            .bind(node)
            .bind(call_name)
            .bind(text)
            .bind(result)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn banner_history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError> {
        let rows = sqlx::query("SELECT at, call_id, node, call_name, text, result FROM banner_history ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| BannerEvent {
                at: r.get("at"),
                call_id: r.get("call_id"),
                node: r.get("node"),
                call_name: r.get("call_name"),
                text: r.get("text"),
                result: r.get("result"),
            })
            .collect())
    }

    pub async fn setting<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let v: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(self.pool()).await?;
        Ok(v.and_then(|s| serde_json::from_str(&s).ok()))
    }

    pub async fn put_setting<T: serde::Serialize>(&self, key: &str, value: &T, by: &str) -> Result<(), StoreError> {
        let json = serde_json::to_string(value).map_err(|e| StoreError::Db(sqlx::Error::Encode(Box::new(e))))?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(json)
        .bind(now_rfc3339())
        .bind(by)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::cdr::parse::parse_batch;
    use crate::store::test_store;

    #[tokio::test]
    async fn a_resent_batch_is_stored_once_and_reported_as_nothing_new() {
        let (store, _d) = test_store().await;
        let b = parse_batch(r#"<records session="S"><record type="callStart" time="t" recordIndex="1"><call id="C"/></record><record type="callEnd" time="t" recordIndex="2"><call id="C"/></record></records>"#).unwrap();
        assert_eq!(store.insert_cdr_records("", "S", &b.records).await.unwrap(), vec![1, 2]);
        assert!(store.insert_cdr_records("", "S", &b.records).await.unwrap().is_empty());
        assert_eq!(store.insert_cdr_records("", "S2", &b.records).await.unwrap().len(), 2, "a new session counts again");
        assert_eq!(store.cdr_record_count().await.unwrap(), 4);
    }

    #[tokio::test]
    async fn settings_round_trip_as_json() {
        let (store, _d) = test_store().await;
        assert_eq!(store.setting::<crate::model::BannerRules>("banner_rules").await.unwrap(), None);
        let mut r = crate::model::BannerRules::default();
        r.restricted_keywords.push("secret".into());
        store.put_setting("banner_rules", &r, "ann").await.unwrap();
        store.put_setting("banner_rules", &r, "ann").await.unwrap();
        assert_eq!(store.setting::<crate::model::BannerRules>("banner_rules").await.unwrap(), Some(r));
    }
}
