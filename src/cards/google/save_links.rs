//! Save links: a "Save to Google Wallet" link for a member (or for a sample member, stored
//! nowhere), with the class and object written at Google first when its API is set up; a
//! class Google has lost is written again.

use time::OffsetDateTime;

use super::{class_missing, pushed, GoogleCardError, GoogleCards, SaveLink, SaveLinkMode};
use crate::cards::Cards;
use crate::delivery::google::{GoogleClient, GoogleOutcome};
use crate::domain::ids::ProgramId;
use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::Program;
use crate::storage::Store;
use crate::wallet::google::ids::{class_id, object_id};
use crate::wallet::google::resources::{LoyaltyClass, LoyaltyObject};
use crate::wallet::google::save_link::SaveLinkError;

impl GoogleCards {
    /// A "Save to Google Wallet" link for the member. With the API, the class and object are
    /// inserted first and the link names them (skinny); without it, the link carries both
    /// and must stay within Google's 1,800 characters.
    pub async fn save_link(
        &self,
        store: &Store,
        cards: &Cards,
        program: &Program,
        member: &Member,
        now: OffsetDateTime,
    ) -> Result<SaveLink, GoogleCardError> {
        if member.status == MemberStatus::Voided {
            return Err(GoogleCardError::Voided);
        }
        let class = self.loyalty_class(program);
        let object = self.loyalty_object(cards, program, member);
        let Some(api) = &self.api else {
            return self.full_link(&class, &object, now);
        };
        let class_id = class_id(&self.ctx.issuer_id, &program.id);
        let object_id = object_id(&self.ctx.issuer_id, &member.serial);
        store
            .issue_google_object(&member.id, &program.id, &object_id, &class_id, now)
            .await?;
        self.insert_object(api, program, &class, &object).await?;
        store
            .record_google_push(&member.id, &pushed(member), now)
            .await?;
        let url = self
            .links
            .skinny_link(&class_id, &object_id, now.unix_timestamp())?;
        Ok(SaveLink {
            url,
            mode: SaveLinkMode::Skinny,
        })
    }

    /// A "Save to Google Wallet" link for a sample member who is stored nowhere (the
    /// designer's sample sent to a phone). With the API the class is brought up to date and
    /// the object inserted at Google (a new one per sample), without recording either here.
    pub async fn sample_save_link(
        &self,
        cards: &Cards,
        program: &Program,
        member: &Member,
        now: OffsetDateTime,
    ) -> Result<SaveLink, GoogleCardError> {
        let class = self.loyalty_class(program);
        let object = self.loyalty_object(cards, program, member);
        let Some(api) = &self.api else {
            return self.full_link(&class, &object, now);
        };
        self.insert_object(api, program, &class, &object).await?;
        let url = self.links.skinny_link(
            &class_id(&self.ctx.issuer_id, &program.id),
            &object_id(&self.ctx.issuer_id, &member.serial),
            now.unix_timestamp(),
        )?;
        Ok(SaveLink {
            url,
            mode: SaveLinkMode::Skinny,
        })
    }

    /// Inserts `object` at Google, its class first (once per design version). Should Google
    /// no longer have the class (deleted in its console, say: the insert answers 404), the
    /// class is written again and the insert tried once more.
    async fn insert_object(
        &self,
        api: &GoogleClient,
        program: &Program,
        class: &LoyaltyClass,
        object: &LoyaltyObject,
    ) -> Result<(), GoogleCardError> {
        self.ensure_class(api, program, class).await?;
        let mut outcome = api.insert_object(object).await;
        if class_missing(&outcome) {
            self.forget_class(&program.id);
            self.ensure_class(api, program, class).await?;
            outcome = api.insert_object(object).await;
        }
        match outcome {
            GoogleOutcome::Done => Ok(()),
            other => Err(GoogleCardError::Api(format!("{other:?}"))),
        }
    }

    /// The class of `program` is no longer known to be at Google.
    pub(super) fn forget_class(&self, program: &ProgramId) {
        if let Ok(mut sent) = self.classes_sent.lock() {
            sent.retain(|(p, _)| p != program);
        }
    }

    /// A link carrying the whole card, or failing that its essentials, as Google's own
    /// converter does (without the API).
    fn full_link(
        &self,
        class: &LoyaltyClass,
        object: &LoyaltyObject,
        now: OffsetDateTime,
    ) -> Result<SaveLink, GoogleCardError> {
        let iat = now.unix_timestamp();
        let url = match self.links.full_link(Some(class), object, iat) {
            Err(SaveLinkError::TooLong { .. }) => {
                self.links
                    .full_link(Some(&class.essentials()), &object.essentials(), iat)?
            }
            other => other?,
        };
        Ok(SaveLink {
            url,
            mode: SaveLinkMode::Full,
        })
    }

    pub(super) async fn ensure_class(
        &self,
        api: &GoogleClient,
        program: &Program,
        class: &LoyaltyClass,
    ) -> Result<(), GoogleCardError> {
        let key = (program.id.clone(), program.design_version);
        if self.classes_sent.lock().is_ok_and(|s| s.contains(&key)) {
            return Ok(());
        }
        match api.upsert_class(class).await {
            GoogleOutcome::Done => {
                if let Ok(mut sent) = self.classes_sent.lock() {
                    sent.insert(key);
                }
                Ok(())
            }
            other => Err(GoogleCardError::Api(format!("{other:?}"))),
        }
    }
}
