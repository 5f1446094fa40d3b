"""HL7 v2 in: messages to FHIR resources in the store, each answered with an ACK.

Supported: ADT^A01/A02/A03/A04/A05/A08/A11/A13 (Patient and Encounter), ADT^A28/A31
(Patient), ADT^A40 (merge, through chartkeeper.quality.merge), ADT^A45 (move a visit to
another patient), ADT^A47 (change a patient's identifiers), ORU^R01 (DiagnosticReport and
Observations), MDM^T01-T11 (DocumentReference), ORM^O01 and OML^O21/O33/O35
(ServiceRequest), SIU^S12-S26 (Appointment), VXU^V04 (Immunization), BAR^P01/P02/P05/
P06/P10/P12 (Account, Condition, Procedure), DFT^P03/P11 (ChargeItem), PPR^PC1-PC3
(problem-list Condition). Versions 2.1 to 2.8.2. Anything else is refused with AR. What
can be kept is kept, with warnings (ERR severity W) for what could not; every message,
accepted or refused, is stored raw (a Binary) and linked to what it produced
(Provenance).

Modules: `parser` (wire syntax, located values), `errors` (located problems, table
0357), `datatypes` and `coded` (v2 data types to FHIR data types), `patient`, `adt`,
`moves`, `results`, `observations`, `documents`, `orders`, `scheduling`, `immunization`,
`financial`, `problems` (the mappers), `build` (collect, merge with what is stored,
validate, write), `source` (the raw message and its Provenance), `log` (messages already
processed), `ack` (the ACK message), `process` (one message, one transaction), `files`
(file import).

The MLLP listener is chartkeeper.interfaces.mllp.
"""

from chartkeeper.interfaces.hl7v2.ack import Ack
from chartkeeper.interfaces.hl7v2.errors import Hl7Error, Location, Problem
from chartkeeper.interfaces.hl7v2.files import Hl7ImportReport, MessageResult, import_files
from chartkeeper.interfaces.hl7v2.parser import Message, parse_messages
from chartkeeper.interfaces.hl7v2.process import SUPPORTED, process_message

__all__ = [
    "SUPPORTED",
    "Ack",
    "Hl7Error",
    "Hl7ImportReport",
    "Location",
    "Message",
    "MessageResult",
    "Problem",
    "import_files",
    "parse_messages",
    "process_message",
]
