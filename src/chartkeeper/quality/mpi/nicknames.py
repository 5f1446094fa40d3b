"""Common US English nicknames, so that Bob and Robert compare as one given name.

`name_keys(NAME)` is the name itself plus every formal name it is a short form of; two given
names are nickname-equivalent when their keys intersect (Bob {BOB, ROBERT} and Rob {ROB,
ROBERT} share ROBERT). The model compares the keys with Splink's array-intersection level,
which every backend has.
"""

from __future__ import annotations

# formal name: its short forms. Kept to forms in wide use; a rare pet name costs a review,
# a wrong one would make two different people look alike.
# fmt: off
_GROUPS = {
    "ABIGAIL": "ABBY ABBIE GAIL", "ALBERT": "AL BERT BERTIE", "ALEXANDER": "ALEX AL XANDER SANDY",
    "ALEXANDRA": "ALEX ALEXA SANDRA SANDY LEXI", "ALEXIS": "ALEX LEXI", "ALFRED": "AL ALFIE FRED",
    "ALLISON": "ALLIE ALLY", "AMANDA": "MANDY MANDA", "ANDREA": "ANDI ANDIE",
    "ANDREW": "ANDY DREW", "ANGELA": "ANGIE", "ANTHONY": "TONY", "ARTHUR": "ART ARTIE",
    "BARBARA": "BARB BARBIE BABS", "BENJAMIN": "BEN BENNY BENJI", "BEVERLY": "BEV",
    "BRADLEY": "BRAD", "BRYAN": "BRY", "CAROLINE": "CARRIE CARA", "CAROLYN": "CAROL CARRIE",
    "CATHERINE": "CATHY KATE KATIE CAT", "CHARLES": "CHARLIE CHUCK CHAS CHAZ",
    "CHARLOTTE": "CHARLIE LOTTIE", "CHRISTINA": "CHRIS TINA CHRISSY",
    "CHRISTINE": "CHRIS CHRISSY TINA", "CHRISTOPHER": "CHRIS KIT TOPHER",
    "CYNTHIA": "CINDY", "DANIEL": "DAN DANNY", "DANIELLE": "DANI ELLIE",
    "DAVID": "DAVE DAVEY", "DEBORAH": "DEB DEBBIE DEBBY", "DEBRA": "DEB DEBBIE DEBBY",
    "DENNIS": "DENNY", "DIANA": "DI DEE", "DIANE": "DI DEE", "DONALD": "DON DONNIE DONNY",
    "DOROTHY": "DOT DOTTIE DOTTY DOROTHEA", "DOUGLAS": "DOUG", "EDWARD": "ED EDDIE TED TEDDY",
    "ELEANOR": "ELLIE NELL NORA", "ELIZABETH": "LIZ BETH BETTY LIZZIE LIZA ELIZA BETSY LIBBY",
    "EMILY": "EM EMMY", "EUGENE": "GENE", "EVELYN": "EVIE EVE", "FRANCES": "FRAN FRANNIE",
    "FRANCIS": "FRANK", "FRANKLIN": "FRANK", "FREDERICK": "FRED FREDDIE FREDDY",
    "GABRIEL": "GABE", "GERALD": "JERRY GERRY", "GREGORY": "GREG", "HAROLD": "HAL HARRY",
    "HENRY": "HANK HARRY", "ISABELLA": "BELLA IZZY ISABEL", "JACOB": "JAKE",
    "JACQUELINE": "JACKIE", "JAMES": "JIM JIMMY JAMIE", "JANET": "JAN", "JANICE": "JAN",
    "JEFFREY": "JEFF", "JENNIFER": "JEN JENNY JENN", "JEREMY": "JERRY",
    "JESSICA": "JESS JESSIE", "JOHN": "JACK JOHNNY JON", "JONATHAN": "JON JONNY",
    "JOSEPH": "JOE JOEY", "JOSHUA": "JOSH", "JUDITH": "JUDY", "KATHERINE": "KATE KATHY KATIE KAT",
    "KATHLEEN": "KATHY KATE", "KATHRYN": "KATHY KATIE KATE", "KENNETH": "KEN KENNY",
    "KIMBERLY": "KIM", "LAWRENCE": "LARRY", "LEONARD": "LEN LENNY LEO", "LOUIS": "LOU",
    "MADISON": "MADDIE MADDY", "MARGARET": "MAGGIE MEG PEGGY MARGE MADGE",
    "MATTHEW": "MATT", "MELISSA": "MISSY MEL", "MICHAEL": "MIKE MIKEY MICK",
    "MICHELLE": "SHELLY MICHELE", "NATHAN": "NATE", "NATHANIEL": "NATE NAT",
    "NATALIE": "NAT", "NICHOLAS": "NICK NICKY", "NICOLE": "NIKKI", "OLIVIA": "LIV LIVVY",
    "PAMELA": "PAM", "PATRICIA": "PAT PATTY TRISH TRICIA", "PATRICK": "PAT PADDY",
    "PETER": "PETE", "PHILIP": "PHIL", "PHILLIP": "PHIL", "RAYMOND": "RAY",
    "REBECCA": "BECKY BECCA", "RICHARD": "RICK RICH DICK RICKY RICHIE",
    "ROBERT": "BOB ROB BOBBY ROBBIE BERT", "RONALD": "RON RONNIE", "RUSSELL": "RUSS",
    "SAMANTHA": "SAM SAMMY", "SAMUEL": "SAM SAMMY", "SANDRA": "SANDY", "SOPHIA": "SOPHIE",
    "STEPHANIE": "STEPH STEVIE", "STEPHEN": "STEVE STEVIE", "STEVEN": "STEVE STEVIE",
    "SUSAN": "SUE SUSIE SUZY", "TERESA": "TERRI TERRY TESS", "THERESA": "TERRI TERRY TESS",
    "THEODORE": "TED TEDDY THEO", "THOMAS": "TOM TOMMY", "TIMOTHY": "TIM TIMMY",
    "VICTORIA": "VICKY VICKI TORI", "VINCENT": "VINCE VINNY", "VIRGINIA": "GINNY GINGER",
    "WALTER": "WALT WALLY", "WILLIAM": "BILL BILLY WILL WILLIE WILLY",
    "ZACHARY": "ZACH ZACK",
}
# fmt: on

FORMAL: dict[str, set[str]] = {}
for _formal, _shorts in _GROUPS.items():
    for _short in _shorts.split():
        FORMAL.setdefault(_short, set()).add(_formal)


def name_keys(name: str) -> list[str]:
    """The upper-case given name and the formal names it may stand for, sorted."""
    return sorted({name, *FORMAL.get(name, ())})
