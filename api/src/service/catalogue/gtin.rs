//! Barcodes: EAN-8, UPC-A, EAN-13 and GTIN-14 digits, or a GS1 Digital
//! Link URI (`https://id.gs1.org/01/09506000134352`, any host), normalised
//! as Open Food Facts does — leading zeros dropped, then 7 digits or fewer
//! padded to 8 and 9 to 12 padded to 13 — with the check digit verified.

use crate::error::{AppError, Result};

/// The normalised code of `input` (the argument `field`), or
/// `BAD_USER_INPUT` on `field` saying why not.
pub fn normalise(field: &str, input: &str) -> Result<String> {
    let input = input.trim();
    let digits = if input.contains('/') {
        digital_link(input).ok_or_else(|| {
            AppError::invalid(
                field,
                format!("{field} is a link without a GTIN after `/01/`"),
            )
        })?
    } else {
        input
    };
    if digits.is_empty() || digits.len() > 14 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid(
            field,
            format!("{field} must be a barcode of up to 14 digits or a GS1 Digital Link"),
        ));
    }
    let significant = digits.trim_start_matches('0');
    let code = match significant.len() {
        0 => {
            return Err(AppError::invalid(field, format!("{field} is all zeros")));
        }
        1..=7 => format!("{significant:0>8}"),
        9..=12 => format!("{significant:0>13}"),
        _ => significant.to_owned(),
    };
    if !check_digit_holds(&code) {
        return Err(AppError::invalid(
            field,
            format!("{field} has a wrong check digit"),
        ));
    }
    Ok(code)
}

/// The GTIN of a GS1 Digital Link: the path segment after `01`.
fn digital_link(uri: &str) -> Option<&str> {
    let path = match uri.find("://") {
        Some(at) => {
            let rest = &uri[at + 3..];
            &rest[rest.find('/')?..]
        }
        None => uri,
    };
    let path = path.split(['?', '#']).next()?;
    let mut segments = path.split('/').filter(|segment| !segment.is_empty());
    while let Some(segment) = segments.next() {
        if segment == "01" {
            return segments.next();
        }
    }
    None
}

/// GS1's mod-10 check: from the right, the digits before the check digit
/// weigh 3, 1, 3, … and the check digit brings the sum to a multiple of 10.
fn check_digit_holds(code: &str) -> bool {
    let digits: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
    let Some((&check, body)) = digits.split_last() else {
        return false;
    };
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &digit)| if i % 2 == 0 { digit * 3 } else { digit })
        .sum();
    (10 - sum % 10) % 10 == check
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(input: &str) -> String {
        normalise("code", input).unwrap()
    }

    #[test]
    fn every_form_of_one_barcode_normalises_alike() {
        // An EAN-13, its GTIN-14 and its Digital Link.
        assert_eq!(code("3017620422003"), "3017620422003");
        assert_eq!(code("03017620422003"), "3017620422003");
        assert_eq!(code(" 3017620422003 "), "3017620422003");
        assert_eq!(
            code("https://id.gs1.org/01/03017620422003/10/ABC?x=1"),
            "3017620422003"
        );
        assert_eq!(
            code("https://example.com/01/3017620422003"),
            "3017620422003"
        );
        // A UPC-A is padded to 13, as is its shorter written form.
        assert_eq!(code("036000291452"), "0036000291452");
        assert_eq!(code("36000291452"), "0036000291452");
        assert_eq!(code("00036000291452"), "0036000291452");
        // An EAN-8 stays 8, even written with leading zeros.
        assert_eq!(code("96385074"), "96385074");
        assert_eq!(code("0000096385074"), "96385074");
        // A GTIN-14 of a case stays 14.
        assert_eq!(code("10012345678902"), "10012345678902");
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "3017620422004",
            "301762042200X",
            "",
            "0000000000000",
            "123456789012345",
            "https://id.gs1.org/10/ABC",
        ] {
            let err = normalise("code", bad).unwrap_err();
            assert!(
                matches!(err, AppError::InvalidInput { .. }),
                "{bad}: {err:?}"
            );
        }
    }
}
