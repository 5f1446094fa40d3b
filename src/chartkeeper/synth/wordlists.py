"""Word lists for synthetic identities: common US given names and surnames, streets, places.

Names are frequent US census names, so they identify nobody. Places are real towns around
the (fictional) facility in central Ohio with a real ZIP code and area code each, plus a few
out-of-state cities so a later module can "move" a patient. Phone numbers use the 555-01xx
block reserved for fiction, so a generated number never rings a real person.
"""

from __future__ import annotations

# fmt: off
MALE = (
    "James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas",
    "Charles", "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul",
    "Andrew", "Joshua", "Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Edward",
    "Jason", "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen",
    "Larry", "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Alexander", "Frank",
    "Patrick", "Raymond", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Jose", "Adam", "Nathan",
    "Henry", "Douglas", "Zachary", "Peter", "Kyle", "Ethan", "Walter", "Noah", "Jeremy",
    "Christian", "Keith", "Roger", "Terry", "Gerald", "Harold", "Sean", "Austin", "Carl", "Arthur",
    "Lawrence", "Dylan", "Jesse", "Jordan", "Bryan", "Billy", "Joe", "Bruce", "Gabriel", "Logan",
    "Albert", "Willie", "Alan", "Juan", "Wayne", "Elijah", "Randy", "Roy", "Vincent", "Ralph",
    "Eugene", "Russell", "Bobby", "Mason", "Philip", "Louis", "Luis", "Carlos", "Marcus", "Derek",
    "Travis", "Curtis", "Darnell", "Andre", "Mateo", "Liam",
)

FEMALE = (
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah",
    "Karen", "Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily",
    "Donna", "Michelle", "Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie",
    "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Angela", "Shirley", "Anna",
    "Brenda", "Pamela", "Emma", "Nicole", "Helen", "Samantha", "Katherine", "Christine", "Debra",
    "Rachel", "Carolyn", "Janet", "Catherine", "Maria", "Heather", "Diane", "Ruth", "Julie",
    "Olivia", "Joyce", "Virginia", "Victoria", "Kelly", "Lauren", "Christina", "Joan", "Evelyn",
    "Judith", "Megan", "Andrea", "Cheryl", "Hannah", "Jacqueline", "Martha", "Gloria", "Teresa",
    "Ann", "Sara", "Madison", "Frances", "Kathryn", "Janice", "Jean", "Abigail", "Alice", "Judy",
    "Sophia", "Grace", "Denise", "Amber", "Doris", "Marilyn", "Danielle", "Beverly", "Isabella",
    "Theresa", "Diana", "Natalie", "Brittany", "Charlotte", "Marie", "Kayla", "Alexis", "Lori",
    "Tamika", "Yolanda", "Sofia", "Ava", "Mia",
)

SURNAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott",
    "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera",
    "Campbell", "Mitchell", "Carter", "Roberts", "Gomez", "Phillips", "Evans", "Turner", "Diaz",
    "Parker", "Cruz", "Edwards", "Collins", "Reyes", "Stewart", "Morris", "Morales", "Murphy",
    "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper", "Peterson", "Bailey", "Reed",
    "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson", "Watson", "Brooks", "Chavez",
    "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes", "Price", "Alvarez",
    "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez", "Powell",
    "Jenkins", "Perry", "Russell", "Sullivan", "Bell", "Coleman", "Butler", "Henderson", "Barnes",
    "Gonzales", "Fisher", "Vasquez", "Simmons", "Romero", "Jordan", "Patterson", "Alexander",
    "Hamilton", "Graham", "Reynolds", "Griffin", "Wallace", "Moreno", "West", "Cole", "Hayes",
    "Bryant", "Herrera", "Gibson", "Ellis", "Tran", "Medina", "Aguilar", "Stevens", "Murray",
    "Ford", "Castro", "Marshall", "Owens", "Harrison", "Fernandez", "McDonald", "Woods",
    "Washington", "Kennedy", "Wells", "Vargas", "Henry", "Chen", "Freeman", "Webb", "Tucker",
    "Guzman", "Burns", "Crawford", "Olson", "Simpson", "Porter", "Hunter", "Gordon", "Mendez",
    "Silva", "Shaw", "Snyder", "Mason", "Dixon", "Munoz", "Hunt", "Hicks", "Holmes", "Palmer",
    "Wagner", "Black", "Robertson", "Boyd", "Rose", "Stone", "Salazar", "Fox", "Warren", "Mills",
    "Meyer", "Rice", "Schmidt", "Garza", "Daniels", "Ferguson", "Nichols", "Stephens", "Soto",
    "Weaver", "Ryan", "Gardner", "Payne", "Grant", "Dunn", "Kelley", "Spencer", "Hawkins",
    "Arnold", "Pierce", "Hansen", "Peters", "Santos", "Hart", "Bradley", "Knight", "Elliott",
    "Cunningham", "Duncan", "Armstrong", "Hudson", "Carroll", "Lane", "Riley", "Andrews", "Ray",
    "Berry", "Perkins", "Hoffman", "Johnston", "Matthews", "Pena", "Richards", "Willis",
    "Carpenter", "Lawrence", "Sandoval", "Kowalski", "Novak", "Schneider", "Becker", "Yoder",
    "Lindqvist", "O'Brien", "Byrne", "McCarthy", "Okafor", "Haddad",
)

STREETS = (
    "Main", "Oak", "Maple", "Cedar", "Pine", "Elm", "Walnut", "Chestnut", "Sycamore", "Hickory",
    "Willow", "Birch", "Cherry", "Spruce", "Ash", "Park", "Lake", "Hill", "Ridge", "River",
    "Spring", "Meadow", "Forest", "Valley", "Highland", "Sunset", "Prospect", "Church", "Mill",
    "School", "Washington", "Lincoln", "Jefferson", "Madison", "Franklin", "Jackson", "Adams",
    "High", "Broad", "Center", "Market", "Union", "Liberty", "Harrison", "Grant", "Summit",
    "Orchard", "Fairview", "Greenwood", "Woodland", "Brookside", "Westview", "Lakeview",
    "Riverside", "Hillcrest", "Olentangy", "Scioto", "Cleveland", "Indiana", "Sheridan", "Kenwood",
    "Wilson",
)

# fmt: on

STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl", "Cir")

# (city, state, ZIP, area code, relative weight)
PLACES = (
    ("Columbus", "OH", "43215", "614", 10.0),
    ("Columbus", "OH", "43201", "614", 6.0),
    ("Columbus", "OH", "43224", "614", 5.0),
    ("Columbus", "OH", "43229", "614", 5.0),
    ("Dublin", "OH", "43017", "614", 3.0),
    ("Westerville", "OH", "43081", "614", 3.0),
    ("Hilliard", "OH", "43026", "614", 2.5),
    ("Grove City", "OH", "43123", "614", 2.5),
    ("Gahanna", "OH", "43230", "614", 2.0),
    ("Reynoldsburg", "OH", "43068", "614", 2.0),
    ("Worthington", "OH", "43085", "614", 1.5),
    ("Upper Arlington", "OH", "43221", "614", 1.5),
    ("Bexley", "OH", "43209", "614", 1.0),
    ("Whitehall", "OH", "43213", "614", 1.0),
    ("Canal Winchester", "OH", "43110", "614", 0.8),
    ("Groveport", "OH", "43125", "614", 0.6),
    ("Pickerington", "OH", "43147", "614", 1.2),
    ("Powell", "OH", "43065", "614", 1.0),
    ("Lewis Center", "OH", "43035", "740", 1.0),
    ("Delaware", "OH", "43015", "740", 1.2),
    ("Newark", "OH", "43055", "740", 1.2),
    ("Heath", "OH", "43056", "740", 0.5),
    ("Pataskala", "OH", "43062", "740", 0.6),
    ("Lancaster", "OH", "43130", "740", 1.2),
    ("Circleville", "OH", "43113", "740", 0.6),
    ("Marysville", "OH", "43040", "937", 0.8),
    ("London", "OH", "43140", "740", 0.4),
    ("Mount Vernon", "OH", "43050", "740", 0.5),
    ("Marion", "OH", "43302", "740", 0.6),
    ("Zanesville", "OH", "43701", "740", 0.5),
    ("Chillicothe", "OH", "45601", "740", 0.5),
    ("Sunbury", "OH", "43074", "740", 0.4),
    ("Plain City", "OH", "43064", "614", 0.3),
    ("Pittsburgh", "PA", "15213", "412", 0.2),
    ("Indianapolis", "IN", "46204", "317", 0.2),
    ("Louisville", "KY", "40202", "502", 0.2),
    ("Detroit", "MI", "48226", "313", 0.15),
    ("Charleston", "WV", "25301", "304", 0.15),
    ("Lexington", "KY", "40507", "859", 0.15),
)

EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
