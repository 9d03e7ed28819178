//! The Google `LoyaltyObject` for one member (their card: state, number, name, points, tier,
//! barcode) and the `Message`s added to it. Built from the same snapshot as the Apple pass.

use crate::domain::member::{Member, MemberStatus};
use crate::domain::program::{CardBarcode, FieldKind, Program};

use super::class::{default_text, localized, text, text_module};
use super::ids::{class_id, object_id, GoogleContext};
use super::resources::{
    Barcode, BarcodeType, LoyaltyObject, LoyaltyPoints, LoyaltyPointsBalance, Message, MessageType,
    State,
};

/// Where the member's tier shows on the Google card.
///
/// A `LoyaltyObject` has no tier of its own: `rewardsTier` lives on the class and would be the
/// same for every member. That leaves two places:
///
/// - `secondaryLoyaltyPoints` with the tier name as a string balance: on the card front next
///   to the points, where Apple shows it too. But Google shows about 7 characters of a
///   balance and a balance has no localized form.
/// - a text module (`id` `tier`): in the card details, any length, localized header and body.
///
/// The choice is made once per program, not per member: `secondaryLoyaltyPoints` when every
/// tier name fits in 7 characters and reads the same in every language of the card, a text
/// module otherwise. Deciding per member would move the tier to another spot on promotion
/// from "Gold" to "Platinum", and cards of one program should look alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierPlacement {
    SecondaryPoints,
    TextModule,
    /// The program has no tiers, or its design does not show the tier.
    Hidden,
}

/// Google's recommended maximum for a points balance.
const BALANCE_MAX_CHARS: usize = 7;

pub fn tier_placement(program: &Program) -> TierPlacement {
    let design = &program.design;
    let tiers = program.tiers.as_slice();
    let layout = &design.layout;
    let shown = [
        &layout.header,
        &layout.primary,
        &layout.secondary,
        &layout.auxiliary,
        &layout.back,
    ]
    .iter()
    .any(|fields| fields.contains(&FieldKind::Tier));
    if tiers.is_empty() || !shown {
        return TierPlacement::Hidden;
    }
    let fits = tiers.iter().all(|t| {
        default_text(design, &t.name).chars().count() <= BALANCE_MAX_CHARS
            && localized(design, &t.name).is_none()
    });
    if fits {
        TierPlacement::SecondaryPoints
    } else {
        TierPlacement::TextModule
    }
}

/// The loyalty object for `member`; `barcode` is the signed card token the Apple barcode
/// carries too, so the scanner treats both cards alike.
///
/// A voided member's object is `INACTIVE`: Google greys the card out and keeps it in the
/// wallet, like Apple's `voided`. (`EXPIRED` would suggest the card ran out by itself.)
pub fn loyalty_object(
    program: &Program,
    member: &Member,
    barcode: &str,
    ctx: &GoogleContext,
) -> LoyaltyObject {
    let design = &program.design;
    let account_id = account_id(member);
    let points = |label: &str, balance: LoyaltyPointsBalance| {
        let label = text(design, label);
        LoyaltyPoints {
            balance,
            label: label.plain,
            localized_label: label.localized,
        }
    };

    let (mut secondary_loyalty_points, mut text_modules_data) = (None, Vec::new());
    if let Some(tier) = member.tier.as_deref() {
        let label = design.label(FieldKind::Tier);
        match tier_placement(program) {
            TierPlacement::SecondaryPoints => {
                let balance = LoyaltyPointsBalance::String(default_text(design, tier));
                secondary_loyalty_points = Some(points(label, balance));
            }
            TierPlacement::TextModule => {
                text_modules_data.push(text_module(design, "tier", label, tier));
            }
            TierPlacement::Hidden => {}
        }
    }

    LoyaltyObject {
        account_id: account_id.clone(),
        account_name: member.name.clone(),
        barcode: Barcode {
            alternate_text: account_id,
            r#type: match design.barcode {
                CardBarcode::Qr => BarcodeType::QrCode,
                CardBarcode::Pdf417 => BarcodeType::Pdf417,
                CardBarcode::Aztec => BarcodeType::Aztec,
            },
            value: barcode.to_string(),
        },
        class_id: class_id(&ctx.issuer_id, &program.id),
        id: object_id(&ctx.issuer_id, &member.serial),
        loyalty_points: points(design.label(FieldKind::Points), balance(member.balance)),
        secondary_loyalty_points,
        state: match member.status {
            MemberStatus::Active => State::Active,
            MemberStatus::Voided => State::Inactive,
        },
        text_modules_data,
    }
}

/// The number a member reads out at the counter (Google recommends at most 20 characters):
/// the marketer's own member number when it is that short, otherwise the card's serial in
/// capitals (exactly 20 characters; the Apple card shows the same characters in groups).
pub fn account_id(member: &Member) -> String {
    match &member.external_id {
        Some(id) if id.chars().count() <= 20 => id.clone(),
        _ => member.serial.as_str().to_uppercase(),
    }
}

/// Points as Google's int32 balance. Our balances stay within ±1e9, so the string form is only
/// a guard that keeps an out-of-range value readable instead of rejected.
fn balance(points: i64) -> LoyaltyPointsBalance {
    match i32::try_from(points) {
        Ok(n) => LoyaltyPointsBalance::Int(n),
        Err(_) => LoyaltyPointsBalance::String(points.to_string()),
    }
}

/// A Google `Message` for `addMessage`: `TEXT_AND_NOTIFY` also pushes a notification (Google
/// allows 3 per object per 24 hours), `TEXT` only adds it to the card details.
pub fn message(id: &str, header: &str, body: &str, notify: bool) -> Message {
    Message {
        body: body.to_string(),
        header: header.to_string(),
        id: id.to_string(),
        message_type: if notify {
            MessageType::TextAndNotify
        } else {
            MessageType::Text
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    use crate::domain::program::Design;
    use crate::wallet::google::class::tests::{ctx, german_design, json_of, program};

    fn member(p: &Program, tier: Option<&str>) -> Member {
        Member {
            tier: tier.map(str::to_string),
            ..crate::domain::member::sample(&p.id)
        }
    }

    #[test]
    fn object_carries_ids_state_points_and_barcode() {
        let p = program(Design::default(), &[("Bronze", 0), ("Gold", 500)]);
        let m = member(&p, Some("Bronze"));
        let c = ctx();
        let o = json_of(&loyalty_object(&p, &m, "PW1-token", &c));
        assert_eq!(
            o["id"],
            format!("3388000000012345678.{}", m.serial.as_str())
        );
        assert_eq!(
            o["classId"],
            format!("3388000000012345678.{}", p.id.as_str())
        );
        assert_eq!(o["state"], "ACTIVE");
        assert_eq!(o["accountName"], "Ada Lovelace");
        let number = m.serial.as_str().to_uppercase();
        assert_eq!(o["accountId"], number);
        assert_eq!(o["loyaltyPoints"]["label"], "Points");
        assert_eq!(o["loyaltyPoints"]["balance"], json!({"int": 120}));
        assert_eq!(
            o["barcode"],
            json!({"type": "QR_CODE", "value": "PW1-token", "alternateText": number})
        );
        assert_eq!(o["secondaryLoyaltyPoints"]["label"], "Tier");
        assert_eq!(
            o["secondaryLoyaltyPoints"]["balance"],
            json!({"string": "Bronze"})
        );
        assert!(o.get("textModulesData").is_none());

        let mut voided = m.clone();
        voided.status = MemberStatus::Voided;
        voided.external_id = Some("crm-42".into());
        let o = json_of(&loyalty_object(&p, &voided, "PW1-token", &c));
        assert_eq!(o["state"], "INACTIVE");
        assert_eq!(o["accountId"], "crm-42");
        assert_eq!(o["barcode"]["alternateText"], "crm-42");

        voided.external_id = Some("a-very-long-crm-identifier-0001".into());
        assert_eq!(account_id(&voided), number);
    }

    #[test]
    fn tier_goes_to_a_text_module_when_too_long_or_translated() {
        let short = program(Design::default(), &[("Bronze", 0), ("Gold", 500)]);
        assert_eq!(tier_placement(&short), TierPlacement::SecondaryPoints);

        let long = program(Design::default(), &[("Bronze", 0), ("Platinum", 900)]);
        assert_eq!(tier_placement(&long), TierPlacement::TextModule);
        // Even a member whose own tier would fit: every card of the program looks alike.
        let o = json_of(&loyalty_object(
            &long,
            &member(&long, Some("Bronze")),
            "t",
            &ctx(),
        ));
        assert!(o.get("secondaryLoyaltyPoints").is_none());
        assert_eq!(
            o["textModulesData"],
            json!([{"id": "tier", "header": "Tier", "body": "Bronze"}])
        );

        // "Gold" is translated for German, and a balance string has no localized form.
        let translated = program(german_design(), &[("Bronze", 0), ("Gold", 500)]);
        assert_eq!(tier_placement(&translated), TierPlacement::TextModule);
        let o = json_of(&loyalty_object(
            &translated,
            &member(&translated, Some("Gold")),
            "t",
            &ctx(),
        ));
        assert_eq!(
            o["textModulesData"][0]["localizedBody"]["translatedValues"],
            json!([{"language": "de", "value": "Gold-Stufe"}])
        );
        assert_eq!(
            o["loyaltyPoints"]["localizedLabel"]["translatedValues"],
            json!([{"language": "de", "value": "Punkte"}])
        );

        let none = program(Design::default(), &[]);
        assert_eq!(tier_placement(&none), TierPlacement::Hidden);
        let mut hidden = Design::default();
        hidden.layout.header.clear();
        let hidden = program(hidden, &[("Gold", 0)]);
        assert_eq!(tier_placement(&hidden), TierPlacement::Hidden);
        let o = json_of(&loyalty_object(
            &hidden,
            &member(&hidden, Some("Gold")),
            "t",
            &ctx(),
        ));
        assert!(o.get("secondaryLoyaltyPoints").is_none() && o.get("textModulesData").is_none());
    }

    #[test]
    fn member_without_tier_shows_none() {
        let p = program(Design::default(), &[("Silver", 100)]);
        let o = json_of(&loyalty_object(&p, &member(&p, None), "t", &ctx()));
        assert!(o.get("secondaryLoyaltyPoints").is_none());
    }

    #[test]
    fn balances_fit_int32_or_fall_back_to_text() {
        assert_eq!(
            json_of(&balance(-1_000_000_000)),
            json!({"int": -1_000_000_000})
        );
        assert_eq!(
            json_of(&balance(i64::from(i32::MAX) + 1)),
            json!({"string": "2147483648"})
        );
    }

    #[test]
    fn messages_notify_only_when_asked() {
        let m = json_of(&message(
            "tier-gold",
            "Welcome to Gold",
            "You reached Gold.",
            true,
        ));
        assert_eq!(m["messageType"], "TEXT_AND_NOTIFY");
        assert_eq!(m["header"], "Welcome to Gold");
        assert_eq!(
            json_of(&message("x", "h", "b", false))["messageType"],
            "TEXT"
        );
    }
}
