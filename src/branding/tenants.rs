//! Tenant administration: list, create (validated and audited), and look one up for a change.

use super::names::TenantName;
use super::service::{BrandingError, BrandingService, TenantCreated};
use crate::model::branding::BrandingTenant;
use crate::model::AuditAction;
use crate::store::AuditResult;

impl BrandingService {
    pub async fn tenants(&self) -> Result<Vec<BrandingTenant>, BrandingError> {
        Ok(self.store().tenants().await?)
    }

    /// Creates a tenant; false when it already existed.
    pub async fn create_tenant(&self, name: &str, actor: &str) -> Result<TenantCreated, BrandingError> {
        let tenant = match TenantName::parse(name.trim()) {
            Ok(t) => t,
            Err(e) => {
                self.audit(actor, AuditAction::BrandingTenantCreate, name, AuditResult::Failed, &e.to_string()).await;
                return Err(e.into());
            }
        };
        let created = self.store().create_tenant(tenant.as_str()).await?;
        self.invalidate();
        if created {
            self.audit(actor, AuditAction::BrandingTenantCreate, tenant.as_str(), AuditResult::Ok, "").await;
        }
        Ok(TenantCreated { tenant: tenant.to_string(), created })
    }

    pub(super) async fn existing_tenant(&self, tenant: &str) -> Result<(TenantName, i64), BrandingError> {
        let t = TenantName::parse(tenant)?;
        let id = self.store().tenant_id(t.as_str()).await?.ok_or_else(|| BrandingError::UnknownTenant(t.to_string()))?;
        Ok((t, id))
    }
}
