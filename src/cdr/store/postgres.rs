//! CDR tables on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ. Several instances may
//! store the same batch at once (CMS posts to each receiver, or a balancer retries elsewhere):
//! `ON CONFLICT DO NOTHING RETURNING` hands back exactly the rows this transaction added.

use super::{CdrRepo, NewRow, StoredRecord};
use crate::model::CdrGap;
use crate::store::StoreError;
use sqlx::PgPool;
use std::collections::HashMap;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The `pg_advisory_xact_lock` key every ingest transaction takes first, so ingests commit one
/// after the other and record ids become visible in id order: a reader tailing by `id > last`
/// then never skips a row that commits late with a smaller id (scale-out.md). Any fixed value;
/// this one spells "sbCDR".
pub(crate) const INGEST_LOCK: i64 = 0x73_62_43_44_52;

/// Rows per statement: the columns go as arrays, so this only bounds one statement's size.
const CHUNK: usize = 5000;

pub(crate) struct PgCdrs(pub(crate) PgPool);

#[async_trait::async_trait]
impl CdrRepo for PgCdrs {
    async fn insert_new(&self, rows: &[NewRow<'_>]) -> Result<Vec<usize>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let at: HashMap<(&str, &str, i64), usize> =
            rows.iter().enumerate().map(|(i, (b, s, r))| ((*b, *s, r.record_index as i64), i)).collect();
        let mut tx = self.0.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(INGEST_LOCK).execute(&mut *tx).await?;
        let mut fresh = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(CHUNK) {
            let mut cols = Columns::default();
            for (bridge, session, r) in chunk {
                cols.bridge.push(bridge);
                cols.session.push(session);
                cols.index.push(r.record_index as i64);
                cols.kind.push(r.kind.as_str());
                // The column is a time; CMS's is RFC 3339. One that is not (never seen from
                // CMS) is stored as the receive time rather than refusing the batch, which CMS
                // would resend for ever; `raw` keeps what was sent.
                cols.time.push(OffsetDateTime::parse(&r.time, &Rfc3339).unwrap_or(now));
                cols.object.push(&r.id);
                cols.raw.push(&r.raw);
            }
            let added: Vec<(String, String, i64)> = sqlx::query_as(
                "INSERT INTO cdr_records (bridge, session, record_index, record_type, time, object_id, received_at, raw)
                 SELECT b, s, i, k, t, o, $8, r
                 FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])
                      AS u(b, s, i, k, t, o, r)
                 ON CONFLICT (bridge, session, record_index) DO NOTHING
                 RETURNING bridge, session, record_index",
            )
            .bind(&cols.bridge)
            .bind(&cols.session)
            .bind(&cols.index)
            .bind(&cols.kind)
            .bind(&cols.time)
            .bind(&cols.object)
            .bind(&cols.raw)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            fresh.extend(added.iter().filter_map(|(b, s, i)| at.get(&(b.as_str(), s.as_str(), *i)).copied()));
        }
        fresh.sort_unstable();
        // Gaps CMS reported, in the same transaction, so a resend can neither lose nor repeat them.
        let gaps: Vec<&NewRow<'_>> = fresh.iter().map(|i| &rows[*i]).filter(|(_, _, r)| r.missing_before > 0).collect();
        if !gaps.is_empty() {
            sqlx::query(
                "INSERT INTO cdr_gaps (at, bridge, session, record_index, missing)
                 SELECT $1, b, s, i, m FROM UNNEST($2::text[], $3::text[], $4::bigint[], $5::bigint[]) AS u(b, s, i, m)",
            )
            .bind(now)
            .bind(gaps.iter().map(|(b, _, _)| *b).collect::<Vec<_>>())
            .bind(gaps.iter().map(|(_, s, _)| *s).collect::<Vec<_>>())
            .bind(gaps.iter().map(|(_, _, r)| r.record_index as i64).collect::<Vec<_>>())
            .bind(gaps.iter().map(|(_, _, r)| r.missing_before as i64).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    async fn dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES ($1, $2, $3, $4)")
            .bind(OffsetDateTime::now_utc())
            .bind(peer)
            .bind(reason)
            .bind(body)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn dead_letter_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_dead_letters").fetch_one(&self.0).await?)
    }

    async fn record_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_records").fetch_one(&self.0).await?)
    }

    async fn recent_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError> {
        Ok(sqlx::query_as("SELECT at, bridge, session, missing FROM cdr_gaps ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.0)
            .await?)
    }

    async fn records_since(&self, since: OffsetDateTime) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT bridge, session, raw FROM cdr_records WHERE received_at >= $1 ORDER BY id")
            .bind(since)
            .fetch_all(&self.0)
            .await?)
    }
}

/// One chunk's rows as columns, for `UNNEST`.
#[derive(Default)]
struct Columns<'a> {
    bridge: Vec<&'a str>,
    session: Vec<&'a str>,
    index: Vec<i64>,
    kind: Vec<&'a str>,
    time: Vec<OffsetDateTime>,
    object: Vec<&'a str>,
    raw: Vec<&'a str>,
}
