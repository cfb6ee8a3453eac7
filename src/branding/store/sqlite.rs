//! Branding tables on SQLite: `?` placeholders, times as RFC 3339 text, files as BLOBs, the
//! generation bumped by the schema's triggers.

use super::{BrandingBlob, BrandingRepo, BrandingRequestRow, NewBrandingFile};
use crate::model::branding::{BrandingFileInfo, BrandingTenant, CmsRequest, FileKind, MissingItem};
use crate::store::{now_text, StoreError};
use sqlx::SqlitePool;

pub(crate) struct SqliteBranding(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl BrandingRepo for SqliteBranding {
    async fn tenant_id(&self, name: &str) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar("SELECT id FROM branding_tenants WHERE name = ?").bind(name).fetch_optional(&self.0).await?)
    }

    async fn create_tenant(&self, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("INSERT INTO branding_tenants (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(now_text())
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn tenants(&self) -> Result<Vec<BrandingTenant>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT t.name,
                    COALESCE(SUM(f.kind = 'template'), 0) AS templates,
                    COALESCE(SUM(f.kind != 'template'), 0) AS files,
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
             WHERE tenant_id = ? AND kind = ? AND name = ?",
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
             WHERE tenant_id = ? AND kind = ? ORDER BY name",
        )
        .bind(tenant_id)
        .bind(kind.as_str())
        .fetch_all(&self.0)
        .await?)
    }

    async fn put_file(&self, tenant_id: i64, f: &NewBrandingFile<'_>) -> Result<bool, StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let existed: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM branding_files WHERE tenant_id = ? AND kind = ? AND name = ?)")
                .bind(tenant_id)
                .bind(f.kind.as_str())
                .bind(f.name)
                .fetch_one(&mut *tx)
                .await?;
        sqlx::query(
            "INSERT INTO branding_files (tenant_id, kind, name, content, content_type, sha256, size, detail, updated_at, updated_by)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (tenant_id, kind, name) DO UPDATE SET
               content = excluded.content, content_type = excluded.content_type, sha256 = excluded.sha256,
               size = excluded.size, detail = excluded.detail, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(tenant_id)
        .bind(f.kind.as_str())
        .bind(f.name)
        .bind(f.content)
        .bind(f.content_type)
        .bind(f.sha256)
        .bind(f.content.len() as i64)
        .bind(f.detail)
        .bind(now_text())
        .bind(f.actor)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(existed)
    }

    async fn delete_file(&self, tenant_id: i64, kind: FileKind, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM branding_files WHERE tenant_id = ? AND kind = ? AND name = ?")
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
             WHERE tenant_id = ? ORDER BY kind, name",
        )
        .bind(tenant_id)
        .fetch_all(&self.0)
        .await?)
    }

    async fn generation(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM branding_generation WHERE id = 1").fetch_one(&self.0).await?)
    }

    async fn log_requests(&self, rows: &[BrandingRequestRow]) -> Result<(), StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in rows.chunks(400) {
            let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
                "INSERT INTO branding_requests (at, tenant, kind, name, method, status, served, remote, count) ",
            );
            qb.push_values(chunk, |mut b, r| {
                b.push_bind(&r.at)
                    .push_bind(&r.tenant)
                    .push_bind(r.kind)
                    .push_bind(&r.name)
                    .push_bind(&r.method)
                    .push_bind(r.status as i64)
                    .push_bind(&r.served)
                    .push_bind(&r.remote)
                    .push_bind(r.count);
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn prune_requests(&self, keep: i64) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM branding_requests WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM branding_requests) - ?")
            .bind(keep)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected())
    }

    async fn recent_requests(&self, tenant: &str, limit: i64) -> Result<Vec<CmsRequest>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, method, kind, name, status, served, remote, count FROM branding_requests
             WHERE tenant = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }

    async fn missing_requests(&self, tenant: &str, limit: i64) -> Result<Vec<MissingItem>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT kind, name, SUM(count) AS count, MAX(at) AS last_at, MAX(served) AS served FROM branding_requests
             WHERE tenant = ? AND (status = 404 OR (kind = 'template' AND name != '' AND status = 200 AND served != name))
             GROUP BY kind, name ORDER BY count DESC, last_at DESC LIMIT ?",
        )
        .bind(tenant)
        .bind(limit)
        .fetch_all(&self.0)
        .await?)
    }
}
