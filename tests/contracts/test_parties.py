"""The parties in the languages: the client block (legal name, tax id by scheme, address,
billing e-mail, purchase order), withholding, close_after_days, and entity files with their
bank accounts, each checked with its check digits."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from billing.contracts.entities import read_entity_files
from billing.contracts.identifiers import cci_problem, display_tax_id, iban_problem, routing_problem, tax_id_problem
from billing.contracts.language import load_terms_text
from billing.contracts.language.entity import load_entity_text
from billing.core.problems import ProblemsError
from tests.conftest import ENTITIES

BASE = """contract: P-1
client: {client}
currency: PEN
timezone: America/Lima
start: 2026-01-01
invoicing: {invoicing}
charges:
  - {{id: platform, type: fixed, amount: "1000.00"}}
"""
INVOICING = "{series: F001, credit_note_series: FC01}"


def terms(client: str, invoicing: str = INVOICING, extra: str = ""):
    return load_terms_text(BASE.format(client=client, invoicing=invoicing) + extra, "p.yaml")


def codes(problems) -> list[str]:
    return sorted(p.code for p in problems)


@pytest.mark.parametrize(
    ("scheme", "written", "canonical"),
    [
        ("pe_ruc", "20100047218", "20100047218"),
        ("es_cif", "B-12345674", "B12345674"),
        ("es_nif", "B12345674", "B12345674"),
        ("us_ein", "84-2345678", "842345678"),
        ("eu_vat", "ESB12345674", "ESB12345674"),
    ],
)
def test_a_tax_id_with_its_scheme_is_checked_and_kept_canonical(scheme: str, written: str, canonical: str):
    assert tax_id_problem(scheme, written) == (canonical, None)


@pytest.mark.parametrize(
    ("scheme", "written"), [("pe_ruc", "20100047219"), ("es_cif", "B12345678"), ("us_ein", "00-1234567")]
)
def test_a_wrong_check_digit_is_refused(scheme: str, written: str):
    canonical, problem = tax_id_problem(scheme, written)
    assert canonical is None and problem is not None and written in problem


def test_a_plain_tax_id_without_scheme_loads_as_written_even_if_it_is_not_a_valid_cif():
    loaded, problems = terms('{id: tienda, name: "Tienda", tax_id: "B12345678"}')
    assert problems == [] and loaded is not None
    assert loaded.client.tax_id == "B12345678" and loaded.client.tax_scheme is None
    refused, problems = terms('{id: tienda, name: "Tienda", tax_id: "B12345678", tax_scheme: es_cif}')
    assert refused is None and codes(problems) == ["tax_id"]
    assert "client.tax_id" in str(problems[0]) and "not a valid CIF" in str(problems[0])


def test_the_client_block_gains_legal_name_address_billing_email_and_purchase_order():
    loaded, problems = terms(
        '{id: banco, name: Banco, legal_name: "Banco Andino S.A.", tax_id: "20100047218", tax_scheme: pe_ruc,'
        ' address: {lines: ["Av. Javier Prado Este 1066"], city: San Isidro, postal_code: "15036", country: PE},'
        ' billing_email: ap@banco.pe, purchase_order: "OC-2026-0147"}'
    )
    assert problems == [] and loaded is not None
    client = loaded.client
    assert (client.legal_name, client.billing_email, client.purchase_order) == (
        "Banco Andino S.A.",
        "ap@banco.pe",
        "OC-2026-0147",
    )
    assert client.address is not None and client.address.country == "PE"
    assert client.address.lines == ("Av. Javier Prado Este 1066",)


@pytest.mark.parametrize(
    ("client", "expected"),
    [
        ('{id: b, name: B, address: {lines: ["x"], country: XX}}', ["unknown_country"]),
        ('{id: b, name: B, address: {lines: ["x"]}}', ["missing"]),
        ('{id: b, name: B, address: {lines: ["a", "b", "c", "d"], country: PE}}', ["type"]),
        ("{id: b, name: B, tax_scheme: pe_ruc}", ["missing"]),
        ('{id: b, name: B, tax_id: "1", tax_scheme: xx_tax}', ["unknown_tax_scheme"]),
        ('{id: b, name: B, purchase_order: "a\\nb"}', ["invalid_text"]),
        ("{id: b, name: B, billing_email: nobody}", ["invalid_text"]),
    ],
)
def test_bad_parties_are_refused_with_their_codes(client: str, expected: list[str]):
    loaded, problems = terms(client)
    assert loaded is None and codes(problems) == expected


def test_withholding_and_close_after_days():
    invoicing = (
        '{series: F001, credit_note_series: FC01, close_after_days: 0, withholding: {name: "Detracción",'
        ' percent: "12", applies_above: "700.00", account: "00-741-123456", legend: "SPOT"}}'
    )
    loaded, problems = terms("{id: b, name: B}", invoicing)
    assert problems == [] and loaded is not None
    withholding = loaded.invoicing.withholding
    assert withholding is not None
    assert (withholding.percent, withholding.applies_above, withholding.account) == (
        Decimal(12),
        Decimal("700.00"),
        "00-741-123456",
    )
    assert loaded.close_after_days == 0
    default, _ = terms("{id: b, name: B}", extra="resolution: {repeat_window_days: 3}\n")
    assert default is not None and default.close_after_days == 3  # the repeat window


@pytest.mark.parametrize(
    ("withholding", "expected"),
    [
        ('{name: D, percent: "0", account: "1", legend: L}', ["negative"]),
        ('{name: D, percent: "120", account: "1", legend: L}', ["range"]),
        ('{name: D, percent: "12", account: "1"}', ["missing"]),
        ('{name: D, percent: "12", account: "1", legend: L, rate: 3}', ["unknown_field"]),
    ],
)
def test_a_bad_withholding_is_refused(withholding: str, expected: list[str]):
    invoicing = f"{{series: F001, credit_note_series: FC01, withholding: {withholding}}}"
    loaded, problems = terms("{id: b, name: B}", invoicing)
    assert loaded is None and codes(problems) == expected


def test_bank_account_numbers_are_checked_with_their_check_digits():
    assert cci_problem("002-193-001234567012-14") == ("00219300123456701214", None)
    assert cci_problem("00219300123456701241")[1] is not None  # check digits swapped
    assert cci_problem("0021930012345670121")[1] is not None  # 19 digits
    # a CCI published by a bank (BBVA Peru) passes the same check
    assert cci_problem("011-366-000100032542-21")[1] is None
    assert iban_problem("ES91 2100 0418 4502 0005 1332") == ("ES9121000418450200051332", None)
    assert iban_problem("ES92 2100 0418 4502 0005 1332")[1] is not None
    assert routing_problem("021000021")[1] is None and routing_problem("021000022")[1] is not None


def test_the_example_entities_load_with_their_logo():
    files = read_entity_files(sorted(ENTITIES.glob("*.yaml")))
    assert [f.entity.code for f in files] == ["ANDES-PE", "ANDES-ES", "ANDES-US"]
    peru = files[0]
    assert peru.entity.tax_id == "20601234565" and peru.entity.address.country == "PE"
    assert [a.currency for a in peru.entity.bank_accounts] == ["PEN", "USD"]
    assert peru.logo_type == "image/png" and peru.logo is not None and peru.logo.startswith(b"\x89PNG")
    assert display_tax_id("us_ein", files[2].entity.tax_id) == "47-1234567"


ENTITY = """entity: E-1
legal_name: "Empresa S.A.C."
tax_scheme: pe_ruc
tax_id: "20601234565"
address: {lines: ["Av. Larco 1301"], city: Lima, country: PE}
bank_accounts:
  - {currency: PEN, bank: "BCP", account: "193-1", cci: "00219300123456701214"}
"""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('tax_id: "20601234565"', 'tax_id: "20601234566"'), ["tax_id"]),
        (("tax_scheme: pe_ruc\n", ""), ["missing"]),
        (('cci: "00219300123456701214"', 'cci: "00219300123456701215"'), ["bank_account"]),
        (('account: "193-1", cci: "00219300123456701214"', "swift: BCPLPEPL"), ["missing"]),
        (("currency: PEN", "currency: ZZZ"), ["unknown_currency"]),
        (("swift", "swift"), []),
        (('address: {lines: ["Av. Larco 1301"], city: Lima, country: PE}\n', ""), ["missing"]),
        (("entity: E-1", 'entity: "E 1"'), ["invalid_text"]),
        (("legal_name", "legal_nam"), ["missing", "unknown_field"]),
    ],
)
def test_entity_files_report_every_problem(change: tuple[str, str], expected: list[str]):
    entity, problems = load_entity_text(ENTITY.replace(*change), "e.yaml")
    assert codes(problems) == expected
    assert (entity is None) == bool(expected)


def test_a_logo_must_be_a_small_png_or_jpeg(tmp_path: Path):
    (tmp_path / "logo.gif").write_bytes(b"GIF89a" + b"\x00" * 20)
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * (600 * 1024))
    for name, message in (("logo.gif", "not a PNG or JPEG"), ("big.png", "at most"), ("missing.png", "cannot read")):
        path = tmp_path / f"{name}.yaml"
        path.write_text(ENTITY + f"logo: {name}\n")
        with pytest.raises(ProblemsError) as refused:
            read_entity_files([path])
        assert [p.code for p in refused.value.problems] == ["logo"]
        assert message in str(refused.value.problems[0])
