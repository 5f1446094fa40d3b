"""A varied set of HL7 v2 messages written the way hospital feeds and interface test
suites write them (self-written, synthetic patients): every version from 2.1 to 2.8.2,
every legal TS/DTM precision, escapes and repetitions in many fields, NM values with
comparators or words, OBR without a service identifier, A03 with death fields, missing
optional identifiers, LF line ends. Used by test_hl7v2_as_sent.py and bench/hl7_as_sent.py.

Each case is (name, message, what must be stored): the check is a list of
(resource type, FHIRPath-like key, expected value) looked up in what the message wrote.
"""

from __future__ import annotations

import itertools

VERSIONS = ["2.1", "2.2", "2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"]
VERSIONS += ["2.8.1", "2.8.2"]
TIMESTAMPS = [
    "2023",
    "202306",
    "20230614",
    "2023061409",
    "202306140930",
    "20230614093015",
    "20230614093015.1",
    "20230614093015.12",
    "20230614093015.123",
    "20230614093015.1234",
    "20230614093015-0500",
    "202306140930+0100",
    "20230614093015.1234+0530",
    "20230614-0400",
    "20230614093015^S",  # v2.1-2.5 TS with a degree of precision component
]


def _msh(kind: str, control: str, version: str, stamp: str = "20230614093015") -> str:
    if version in ("2.1", "2.2", "2.3") and kind.startswith("ADT"):
        kind = kind.split("^")[0] + "^" + kind.split("^")[1]
    return f"MSH|^~\\&|EPICADT|SMH^1.2.840.114350^ISO|CK|HIM|{stamp}||{kind}|{control}|P|{version}"


def _pid(mrn: str = "E4401", *, extra: str = "") -> str:
    return (
        f"PID|1||{mrn}^^^SMH^MR~555-44-3333^^^SSA^SS||O\\T\\Brien^Mary^K^^Mrs~Smith^Mary^^^^^M||"
        f"19570322|F|||12 Elm St^Unit \\F\\4^Springfield^IL^62701^USA^H||(217)555-0143^PRN^PH~"
        f"^NET^Internet^mob@example.org|||M||ACCT{mrn}|{extra}"
    )


def _pv1(visit: str = "V9001", admit: str = "20230614080000", discharge: str = "") -> str:
    fields = ["PV1", "1", "I", "3W^301^A^SMH", "", "", "", "1001^Osler^William^^^Dr"]
    fields += [""] * 11 + [f"{visit}^^^SMH^VN"]
    fields += [""] * 16 + ["01"] + [""] * 7 + [admit, discharge]
    return "|".join(fields)


def adt(event: str, control: str, version: str = "2.5.1", *, pid: str | None = None, **kw) -> str:
    segments = [
        _msh(f"ADT^{event}^ADT_A01", control, version),
        f"EVN|{event}|20230614093015",
        pid or _pid(),
        _pv1(**kw),
    ]
    return "\r".join(segments) + "\r"


def oru(control: str, version: str = "2.5.1", obr: str | None = None, obx: list[str] = ()) -> str:
    obr = (
        obr
        or "OBR|1|PL77^CPOE|FL77^LAB|2345-7^Glucose^LN|||20230614070000|||||||||||||||20230614080000||CH|F"
    )
    obx = list(obx) or ["OBX|1|NM|2345-7^Glucose^LN||98|mg/dL^^UCUM|70-99|N|||F"]
    segments = [_msh("ORU^R01^ORU_R01", control, version), _pid(), _pv1(), obr, *obx]
    return "\r".join(segments) + "\r"


def mdm(event: str, control: str, version: str = "2.5.1", txa_extra: str = "") -> str:
    txa = (
        f"TXA|1|DS^Discharge summary^HL70270|TX|20230614090000|1001^Osler^William|"
        f"20230614090000||||||DOC{control}^SMH||||||AU||AV{txa_extra}"
    )
    obx = [
        "OBX|1|TX|18842-5^Discharge summary^LN||Admitted with chest pain \\T\\ dyspnea.||||||F",
        "OBX|2|TX|18842-5^Discharge summary^LN||Troponin <0.01\\.br\\ECG normal.~Discharged home.||||||F",
    ]
    segments = [
        _msh(f"MDM^{event}^MDM_T02", control, version),
        "EVN|T02|20230614093015",
        _pid(),
        _pv1(),
        txa,
        *obx,
    ]
    return "\r".join(segments) + "\r"


def _message(kind: str, control: str, *segments: str, version: str = "2.5.1") -> str:
    return "\r".join([_msh(kind, control, version), *segments]) + "\r"


SCH = "SCH|AP100^CPOE|AF200^SCHED|||||ROUTINE^Routine^HL70276|FOLLOWUP|30|min|^^30^20230620090000^20230620093000|||||1001^Osler^William||||||||||Booked"
AIL = "AIL|1|A|CLINIC^Room 3^^SMH|||20230620090000|||30|min||Booked"
ORC = "ORC|NW|ORD100^CPOE||||||||||1001^Osler^William"
OBR_ORDER = "OBR|1|ORD100^CPOE||57021-8^CBC W Auto Differential panel^LN|||20230614100000"
DG1 = "DG1|1||I21.4^Non-ST elevation myocardial infarction^I10C||20230614|F"
PR1 = "PR1|1||0270346^Dilation of coronary artery^I10P||20230615103000||||||2002^Cutter^Carla"
FT1 = "FT1|1|TX881||20230615|20230616|CG|93458^Left heart cath^C4|||1|1250.00&USD||||||||I21.4^NSTEMI^I10C|1001^Osler^William||||93458^Left heart cath^C4"
PRB = "PRB|AD|20230614|38341003^Hypertension^SCT|PRB77^EHR|||20230614||||||C|A||20200101"


def more_types(ctl) -> list[tuple[str, str]]:
    """The message types added for issue 14: MDM T01-T11, SIU S12-S26, OML, BAR, DFT, PPR."""
    out = []
    for n in range(1, 12):
        event = f"T{n:02d}"
        extra = "|DOC0001^SMH" if n in (5, 6, 9, 10) else ""
        raw = mdm(event, ctl(), txa_extra="")
        if extra:  # TXA-13 parent document number
            raw = raw.replace("||||||AU||AV", "|DOC0001^SMH|||||AU||AV", 1)
        out.append((f"MDM^{event}", raw))
    for n in range(12, 27):
        out.append((f"SIU^S{n}", _message(f"SIU^S{n}^SIU_S12", ctl(), SCH, _pid(), AIL)))
    for event in ("O21", "O33", "O35"):
        out.append(
            (
                f"OML^{event}",
                _message(f"OML^{event}^OML_{event}", ctl(), _pid(), _pv1(), ORC, OBR_ORDER),
            )
        )
    out.append(("ORM^O01", _message("ORM^O01^ORM_O01", ctl(), _pid(), _pv1(), ORC, OBR_ORDER)))
    for event in ("P01", "P02", "P05", "P06", "P10", "P12"):
        out.append(
            (
                f"BAR^{event}",
                _message(
                    f"BAR^{event}^BAR_P01",
                    ctl(),
                    "EVN|" + event + "|20230616",
                    _pid(),
                    _pv1(),
                    DG1,
                    PR1,
                ),
            )
        )
    for event in ("P03", "P11"):
        out.append(
            (
                f"DFT^{event}",
                _message(
                    f"DFT^{event}^DFT_P03", ctl(), "EVN|" + event + "|20230616", _pid(), _pv1(), FT1
                ),
            )
        )
    for event in ("PC1", "PC2"):
        out.append(
            (
                f"PPR^{event}",
                _message(f"PPR^{event}^PPR_PC1", ctl(), _pid(), PRB, "NTE|1||Home readings high"),
            )
        )
    out.append(
        ("PPR^PC3", _message("PPR^PC3^PPR_PC1", ctl(), _pid(), PRB.replace("PRB|AD", "PRB|DE")))
    )
    return out


def cases() -> list[tuple[str, str]]:
    """(name, message) for the whole varied set."""
    out: list[tuple[str, str]] = []
    n = itertools.count(1)

    def ctl() -> str:
        return f"AS{next(n):04d}"

    for version in VERSIONS:
        out.append((f"ADT^A01 v{version}", adt("A01", ctl(), version)))
        out.append((f"ORU^R01 v{version}", oru(ctl(), version)))
        out.append((f"MDM^T02 v{version}", mdm("T02", ctl(), version)))
    # v2.1/2.2 style: MSH-9 without the event, which EVN-1 carries
    out.append(("ADT v2.2 event in EVN", adt("A04", ctl(), "2.2").replace("ADT^A04|", "ADT|", 1)))
    for stamp in TIMESTAMPS:
        out.append((f"ADT^A01 admit {stamp}", adt("A01", ctl(), admit=stamp)))
        obr = f"OBR|1|PL{stamp[:8]}^CPOE|FL{len(out)}^LAB|2345-7^Glucose^LN|||{stamp}|||||||||||||||{stamp}||CH|F"
        out.append((f"ORU^R01 observed {stamp}", oru(ctl(), obr=obr)))
    for value in (
        "<5",
        ">=10",
        "<=0.5",
        "> 200",
        "=7",
        "+3.5",
        "-0.2",
        ".5",
        "positive",
        "see note",
        "hemolyzed",
        "1:64",
        "5-10",
        "TNP",
    ):
        obx = [f"OBX|1|NM|5195-3^HBsAg^LN||{value}|mIU/mL|<10||||F"]
        out.append((f"ORU NM {value!r}", oru(ctl(), obx=obx)))
    for sn in ("<^5", ">=^10", "^1^:^64", "^5^-^10", "^2^+", "~^bad"):
        out.append(
            (f"ORU SN {sn!r}", oru(ctl(), obx=[f"OBX|1|SN|5195-3^HBsAg^LN||{sn}|mIU/mL|||||F"]))
        )
    no_service = "OBR|1|PL88^CPOE|FL88^LAB||||20230614070000|||||||||||||||20230614080000||CH|F"
    out.append(("ORU OBR without service id", oru(ctl(), obr=no_service)))
    no_numbers = "OBR|1|||2345-7^Glucose^LN|||20230614070000||||||||||||||||CH|F"
    out.append(("ORU OBR without order numbers", oru(ctl(), obr=no_numbers)))
    out.append(
        (
            "ORU OBX without code or type",
            oru(ctl(), obx=["OBX|1|||1|Free text without type||||||F"]),
        )
    )
    out.append(
        ("ORU OBX bad date value", oru(ctl(), obx=["OBX|1|DT|8665-2^LMP^LN||2023-13-01||||||F"]))
    )
    out.append(
        (
            "ORU escapes",
            oru(
                ctl(),
                obx=[
                    "OBX|1|TX|11526-1^Path^LN||Margin \\F\\ deep \\S\\ 2mm \\T\\ clear \\R\\ \\E\\ \\X41\\ \\H\\bold\\N\\.\\.br\\Line two||||||F",
                    "OBX|2|FT|11526-1^Path^LN||\\.sp2\\Comment: \\.in+4\\indented||||||F",
                ],
            ),
        )
    )
    out.append(
        ("ORU repeating NM", oru(ctl(), obx=["OBX|1|NM|2345-7^Glucose^LN||98~99|mg/dL|||||F"]))
    )
    died = "20230614235900-0500"
    out.append(
        (
            "ADT^A03 with death",
            adt(
                "A03", ctl(), pid=_pid(extra="||||||||||" + died + "|Y"), discharge="20230614235900"
            ),
        )
    )
    out.append(
        (
            "ADT^A03 death indicator only",
            adt("A03", ctl(), pid=_pid(extra="|||||||||||Y"), discharge="20230615"),
        )
    )
    out.append(
        (
            "ADT^A03 bad death date",
            adt("A03", ctl(), pid=_pid(extra="||||||||||2023-06-31|Y"), discharge="20230615"),
        )
    )
    out.append(
        (
            "ADT^A03 no visit number, no admit time",
            adt("A03", ctl(), visit="", admit="", discharge="20230615"),
        )
    )
    out.append(("ADT^A08 no PV1 visit", adt("A08", ctl(), visit="", admit="")))
    pid_old = "PID|1|E4402^^^SMH|||Doe^Jon||19800101|M"
    out.append(("ADT^A01 PID-2 only (v2.2)", adt("A01", ctl(), "2.2", pid=pid_old)))
    pid_alt = "PID|1|||ALT77^^^SMH|Roe^Ann||19800101|F"
    out.append(("ADT^A01 PID-4 only", adt("A01", ctl(), pid=pid_alt)))
    out.append(
        ("ADT^A01 bad birth date", adt("A01", ctl(), pid=_pid().replace("19570322", "19570332")))
    )
    out.append(
        ("ADT^A01 ISO birth date", adt("A01", ctl(), pid=_pid().replace("19570322", "1957-03-22")))
    )
    out.append(("ADT^A01 unknown sex", adt("A01", ctl(), pid=_pid().replace("|F|||", "|X|||"))))
    out.append(("ADT^A01 LF line ends", adt("A01", ctl()).replace("\r", "\n")))
    out.append(("ADT^A01 CRLF line ends", adt("A01", ctl()).replace("\r", "\r\n")))
    out.append(("ADT^A01 later v2 (2.9)", adt("A01", ctl(), "2.9")))
    out.append(("ADT^A01 version with country", adt("A01", ctl(), "2.5.1^USA")))
    out.append(("ADT^A01 Z segment", adt("A01", ctl()) + "ZPI|1|VIP^Very important\r"))
    out.append(
        (
            "MDM^T02 broken text line",
            mdm("T02", ctl()).replace("Discharged home.", "Discharged\rhome."),
        )
    )
    out.append(("MDM^T01", mdm("T01", ctl())))
    return out + more_types(ctl)
