//! Branding tables on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ, files as BYTEA, the
//! generation bumped by the schema's plpgsql triggers (every instance's cache watches it).

use super::{BrandingBlob, BrandingRepo, BrandingRequestRow, NewBrandingFile};
use crate::model::branding::{BrandingFileInfo, BrandingTenant, CmsRequest, FileKind, MissingItem};
use crate::store::StoreError;
use sqlx::PgPool;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) struct PgBranding(pub(crate) PgPool);

#[async_trait::async_trait]
impl BrandingRepo for PgBranding {
    async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM branding_tenants WHERE name = $1").bind(name).fetch_optional(&self.0).await?)
    }

    async fn create_tenant(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO branding_tenants (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(OffsetDateTime::now_utc())
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn tenants(&self) -> Result<Vec<BrandingTenant>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.name,
                    COUNT(f.name) FILTER (WHERE f.kind = 'template') AS templates,
                    COUNT(f.name) FILTER (WHERE f.kind <> 'template') AS files,
                    MAX(f.updated_at) AS updated_at
             FROM branding_tenants t LEFT JOIN branding_files f ON f.tenant_id = t.id
             GROUP BY t.id ORDER BY t.name",
        )
        .fetch_all(&self.0)
        .await?)
    }

    async fn file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<Option<BrandingBlob>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, content, content_type, sha256, updated_at FROM branding_files
             WHERE tenant_id = $1 AND kind = $2 AND name = $3",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .bind(name)
        .fetch_optional(&self.0)
        .await?)
    }

    async fn files_of_kind(&self, tenant_id: i64, kind: FileKind) -> Result<Vec<BrandingBlob>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT name, content, content_type, sha256, updated_at FROM branding_files
             WHERE tenant_id = $1 AND kind = $2 ORDER BY name",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .fetch_all(&self.0)
        .await?)
    }

    async fn put_file(&self, tenant_id: i64, f: &NewBrandingFile<'_>) -> Result<bool, StoreError> {
        // One statement, so two instances putting the same name at once cannot both see "new":
        // `xmax` is 0 on a freshly inserted row and set on one the upsert updated.
        let replaced: bool = sqlx::query_scalar(
            "INSERT INTO branding_files (tenant_id, kind, name, content, content_type, sha256, size, detail, updated_at, updated_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (tenant_id, kind, name) DO UPDATE SET
               content = excluded.content, content_type = excluded.content_type, sha256 = excluded.sha256,
               size = excluded.size, detail = excluded.detail, updated_at = excluded.updated_at, updated_by = excluded.updated_by
             RETURNING xmax <> 0",
        )
        .bind(tenant_id)
        .bind(f.kind.as_str())
        .bind(f.name)
        .bind(f.content)
        .bind(f.content_type)
        .bind(f.sha256)
        .bind(f.content.len() as i64)
        .bind(f.detail)
        .bind(OffsetDateTime::now_utc())
        .bind(f.actor)
        .fetch_one(&self.0)
        .await?;
        Ok(replaced)
    }

    async fn delete_file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM branding_files WHERE tenant_id = $1 AND kind = $2 AND name = $3")
            .bind(tenant_id)
            .bind(kind.as_str())
            .bind(name)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() > 0)
    }

    async fn file_list(&self, tenant_id: i64) -> Result<Vec<BrandingFileInfo>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, name, size, content_type, detail, updated_at, updated_by FROM branding_files
             WHERE tenant_id = $1 ORDER BY kind, name",
        )
        .bind(tenant_id)
        .fetch_all(&self.0)
        .await?)
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM branding_generation WHERE id = 1").fetch_one(&self.0).await?)
    }

    async fn log_requests(&self, rows: &[BrandingRequestRow]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        // The whole batch as columns in one statement. `at` is the RFC 3339 text the log is
        // given (what SQLite stores as is); one that does not parse is logged as now.
        let now = OffsetDateTime::now_utc();
        let at: Vec<OffsetDateTime> = rows.iter().map(|r| OffsetDateTime::parse(&r.at, &Rfc3339).unwrap_or(now)).collect();
        sqlx::query(
            "INSERT INTO branding_requests (at, tenant, kind, name, method, status, served, remote, count)
             SELECT * FROM UNNEST($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[], $9::bigint[])",
        )
        .bind(at)
        .bind(rows.iter().map(|r| r.tenant.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.name.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.method.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| i64::from(r.status)).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.served.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.remote.as_deref()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.count).collect::<Vec<_>>())
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn prune_requests(&self, keep: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM branding_requests WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM branding_requests) - $1")
            .bind(keep)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected())
    }

    async fn recent_requests(&self, tenant: &str, limit: i64) -> Result<Vec<CmsRequest>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, method, kind, name, status, served, remote, count FROM branding_requests
             WHERE tenant = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn missing_requests(&self, tenant: &str, limit: i64) -> Result<Vec<MissingItem>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, name, SUM(count)::bigint AS count, MAX(at) AS last_at, MAX(served) AS served FROM branding_requests
             WHERE tenant = $1 AND (status = 404 OR (kind = 'template' AND name <> '' AND status = 200 AND served <> name))
             GROUP BY kind, name ORDER BY count DESC, last_at DESC LIMIT $2",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }
}
