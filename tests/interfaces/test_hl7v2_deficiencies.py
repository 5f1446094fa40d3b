"""A live HL7 feed keeps the deficiency worklist current: each message's charts are
re-checked in the message's own transaction (the store's write hook)."""

from __future__ import annotations

from sqlalchemy import select

from chartkeeper.interfaces.hl7v2 import process_message
from chartkeeper.quality.deficiencies import list_deficiencies, on_write
from chartkeeper.store.deficiencies import deficiency_chart

# A registration without a birth date or address: the demographics rule must fire.
ADT_A04 = (
    "MSH|^~\\&|REG|CLINIC|CK|HIM|202401020830||ADT^A04|MSGDEF1|P|2.5.1\r"
    "EVN|A04|202401020830\r"
    "PID|1||MRN777^^^CLINIC^MR||Doe^Pat||||||||||||||\r"
    "PV1|1|O|CLINIC^^^CLINIC||||||||||||||||V777^^^CLINIC^VN|||||||||||||||||||||||||202401020830\r"
)


def test_a_message_updates_the_worklist_in_its_own_transaction(repo):
    hooked = repo.with_write_hook(on_write)
    ack = process_message(hooked, ADT_A04.encode())
    assert ack.code == "AA", ack.text
    with repo.reading() as tx:
        charts = tx.conn.execute(select(deficiency_chart.c.patient_id)).scalars().all()
    assert len(charts) == 1
    open_rules = {d.rule_id for d in list_deficiencies(repo, patient=charts[0])}
    assert any("demographic" in rule for rule in open_rules), open_rules
