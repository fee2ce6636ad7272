"""The vocabulary of the synthetic commerce world.

The world is built so that query expansion has real work to do: titles name a product type
with one of several surface forms, shoppers often use a colloquial word that only some
descriptions mention, and colours have aliases. An expander that learns these links raises
retrieval; the identity expander shows how big the gap is.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProductType:
    name: str  # canonical form shoppers use in head queries
    department: str
    title_forms: tuple[str, ...]  # how sellers write it in titles
    slang: tuple[str, ...]  # how shoppers say it; only some descriptions mention these
    materials: tuple[str, ...]
    sizes: tuple[str, ...]
    features: tuple[str, ...]
    uses: tuple[str, ...]
    price: tuple[float, float]


_APPAREL_SIZES = ("xs", "s", "m", "l", "xl", "xxl")
_SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44", "45")

PRODUCT_TYPES: tuple[ProductType, ...] = (
    ProductType("running shoes", "footwear", ("running shoes", "running trainers", "jogging shoes"),
                ("sneakers", "kicks", "runners"), ("mesh", "knit", "synthetic"), _SHOE_SIZES,
                ("lightweight", "cushioned", "breathable"), ("marathon training", "daily jogging"), (40, 180)),
    ProductType("hiking boots", "footwear", ("hiking boots", "trekking boots", "trail boots"),
                ("mountain boots", "hikers"), ("leather", "suede", "nubuck"), _SHOE_SIZES,
                ("waterproof", "ankle support", "grippy sole"), ("mountain trips", "winter walks"), (70, 260)),
    ProductType("sandals", "footwear", ("sandals", "slide sandals", "strap sandals"),
                ("flip flops", "sliders"), ("rubber", "leather", "cork"), _SHOE_SIZES,
                ("quick dry", "arch support", "adjustable strap"), ("beach days", "summer holidays"), (15, 90)),
    ProductType("dress shoes", "footwear", ("dress shoes", "oxford shoes", "derby shoes"),
                ("office shoes", "formal shoes"), ("leather", "patent leather", "suede"), _SHOE_SIZES,
                ("hand stitched", "cushioned insole", "slip resistant"), ("weddings", "the office"), (60, 300)),
    ProductType("t-shirt", "apparel", ("t-shirt", "tee shirt", "crew neck tee"),
                ("tee", "top", "shirt"), ("cotton", "organic cotton", "polyester"), _APPAREL_SIZES,
                ("slim fit", "oversized", "moisture wicking"), ("everyday wear", "the gym"), (8, 45)),
    ProductType("hoodie", "apparel", ("hoodie", "hooded sweatshirt", "pullover hoodie"),
                ("hoody", "jumper", "sweater"), ("fleece", "cotton", "polyester"), _APPAREL_SIZES,
                ("kangaroo pocket", "brushed inside", "relaxed fit"), ("cold evenings", "lounging"), (25, 90)),
    ProductType("jeans", "apparel", ("jeans", "denim jeans", "denim trousers"),
                ("denims", "pants"), ("denim", "stretch denim", "raw denim"), ("28", "30", "32", "34", "36"),
                ("slim fit", "straight leg", "high rise"), ("everyday wear", "weekends"), (30, 150)),
    ProductType("winter jacket", "apparel", ("winter jacket", "parka", "puffer jacket"),
                ("coat", "puffer", "anorak"), ("down", "nylon", "polyester"), _APPAREL_SIZES,
                ("waterproof", "insulated", "detachable hood"), ("ski trips", "cold winters"), (80, 400)),
    ProductType("dress", "apparel", ("dress", "midi dress", "wrap dress"),
                ("frock", "gown"), ("silk", "linen", "viscose"), _APPAREL_SIZES,
                ("floral print", "a-line", "sleeveless"), ("summer parties", "weddings"), (30, 220)),
    ProductType("socks", "apparel", ("socks", "crew socks", "ankle socks"),
                ("sox", "stockings"), ("cotton", "merino wool", "bamboo"), ("s", "m", "l"),
                ("cushioned", "moisture wicking", "pack of 5"), ("running", "everyday wear"), (5, 30)),
    ProductType("laptop", "electronics", ("laptop", "notebook computer", "ultrabook"),
                ("lappy", "computer", "pc"), ("aluminium", "plastic", "magnesium"), ("13 inch", "14 inch", "15 inch", "16 inch"),
                ("16gb ram", "1tb ssd", "long battery life"), ("students", "gaming", "work"), (350, 2500)),
    ProductType("smartphone", "electronics", ("smartphone", "mobile phone", "android phone"),
                ("phone", "mobile", "cell"), ("glass", "aluminium", "plastic"), ("128gb", "256gb", "512gb"),
                ("dual sim", "5g", "triple camera"), ("photography", "everyday use"), (150, 1400)),
    ProductType("wireless earbuds", "electronics", ("wireless earbuds", "true wireless earphones", "bluetooth earbuds"),
                ("earphones", "buds", "earpods"), ("plastic", "silicone", "metal"), ("one size",),
                ("noise cancelling", "water resistant", "long battery life"), ("the gym", "commuting"), (20, 300)),
    ProductType("headphones", "electronics", ("headphones", "over-ear headphones", "bluetooth headset"),
                ("cans", "headset", "earmuffs"), ("plastic", "leather", "metal"), ("one size",),
                ("noise cancelling", "foldable", "hi-res audio"), ("travel", "studio work"), (30, 450)),
    ProductType("smartwatch", "electronics", ("smartwatch", "fitness watch", "smart watch"),
                ("tracker", "wearable", "watch"), ("aluminium", "steel", "silicone"), ("40mm", "42mm", "44mm", "46mm"),
                ("heart rate", "gps", "sleep tracking"), ("running", "fitness tracking"), (50, 600)),
    ProductType("tablet", "electronics", ("tablet", "tablet computer", "android tablet"),
                ("pad", "e-reader"), ("aluminium", "plastic"), ("8 inch", "10 inch", "11 inch", "12 inch"),
                ("stylus support", "128gb", "wifi"), ("drawing", "reading", "kids"), (100, 1300)),
    ProductType("coffee maker", "kitchen", ("coffee maker", "coffee machine", "drip brewer"),
                ("coffee pot", "brewer", "percolator"), ("stainless steel", "plastic", "glass"), ("1 litre", "1.5 litre", "12 cup"),
                ("programmable", "thermal carafe", "built-in grinder"), ("busy mornings", "the office"), (25, 400)),
    ProductType("blender", "kitchen", ("blender", "countertop blender", "smoothie maker"),
                ("mixer", "liquidiser", "nutribullet"), ("glass", "plastic", "stainless steel"), ("600ml", "1 litre", "2 litre"),
                ("1000w", "ice crushing", "dishwasher safe"), ("smoothies", "soups"), (20, 250)),
    ProductType("frying pan", "kitchen", ("frying pan", "skillet", "saute pan"),
                ("fry pan", "wok"), ("cast iron", "stainless steel", "aluminium"), ("20cm", "24cm", "28cm", "32cm"),
                ("non-stick", "induction ready", "oven safe"), ("everyday cooking", "camping"), (12, 150)),
    ProductType("kettle", "kitchen", ("kettle", "electric kettle", "water boiler"),
                ("jug", "boiler"), ("stainless steel", "glass", "plastic"), ("1 litre", "1.7 litre"),
                ("rapid boil", "temperature control", "cordless"), ("tea time", "the office"), (15, 120)),
    ProductType("knife set", "kitchen", ("knife set", "kitchen knives", "chef knife set"),
                ("knives", "cutlery set", "blades"), ("stainless steel", "carbon steel", "ceramic"), ("3 piece", "5 piece", "8 piece"),
                ("knife block", "full tang", "razor sharp"), ("home chefs", "gifts"), (20, 350)),
    ProductType("sofa", "furniture", ("sofa", "couch", "settee"),
                ("loveseat", "sectional", "futon"), ("fabric", "leather", "velvet"), ("2 seater", "3 seater", "corner"),
                ("sofa bed", "reclining", "removable covers"), ("small flats", "family rooms"), (250, 2500)),
    ProductType("office chair", "furniture", ("office chair", "desk chair", "ergonomic chair"),
                ("swivel chair", "computer chair", "gaming chair"), ("mesh", "leather", "fabric"), ("standard", "large"),
                ("lumbar support", "adjustable armrests", "headrest"), ("home office", "long work days"), (60, 700)),
    ProductType("desk", "furniture", ("desk", "writing desk", "standing desk"),
                ("workstation", "table", "bureau"), ("oak", "pine", "metal"), ("100cm", "120cm", "140cm", "160cm"),
                ("height adjustable", "cable management", "drawers"), ("home office", "students"), (70, 900)),
    ProductType("bookshelf", "furniture", ("bookshelf", "bookcase", "shelving unit"),
                ("shelves", "shelf", "rack"), ("oak", "pine", "metal"), ("3 tier", "5 tier", "cube"),
                ("wall mountable", "adjustable shelves", "ladder style"), ("living rooms", "kids rooms"), (30, 400)),
    ProductType("mattress", "furniture", ("mattress", "memory foam mattress", "pocket sprung mattress"),
                ("bed", "topper"), ("memory foam", "latex", "hybrid springs"), ("single", "double", "king", "super king"),
                ("medium firm", "cooling gel", "hypoallergenic"), ("back pain", "guest rooms"), (150, 1500)),
    ProductType("backpack", "bags", ("backpack", "rucksack", "daypack"),
                ("bookbag", "knapsack", "school bag"), ("nylon", "canvas", "polyester"), ("20l", "30l", "40l"),
                ("laptop sleeve", "water resistant", "anti-theft"), ("commuting", "school", "travel"), (20, 200)),
    ProductType("suitcase", "bags", ("suitcase", "hard shell luggage", "trolley case"),
                ("luggage", "carry on", "roller bag"), ("polycarbonate", "aluminium", "abs"), ("cabin", "medium", "large"),
                ("spinner wheels", "tsa lock", "expandable"), ("business trips", "holidays"), (50, 500)),
    ProductType("handbag", "bags", ("handbag", "tote bag", "shoulder bag"),
                ("purse", "tote", "clutch"), ("leather", "faux leather", "canvas"), ("small", "medium", "large"),
                ("zip closure", "crossbody strap", "inner pockets"), ("work", "evenings out"), (25, 600)),
    ProductType("yoga mat", "sports", ("yoga mat", "exercise mat", "fitness mat"),
                ("mat", "pilates mat"), ("tpe", "natural rubber", "pvc"), ("4mm", "6mm", "10mm"),
                ("non-slip", "carry strap", "alignment lines"), ("home workouts", "pilates"), (12, 120)),
    ProductType("dumbbells", "sports", ("dumbbells", "dumbbell set", "adjustable dumbbells"),
                ("weights", "free weights", "barbells"), ("cast iron", "rubber coated", "neoprene"), ("5kg", "10kg", "20kg", "40kg"),
                ("adjustable", "hex shape", "anti-roll"), ("home gym", "strength training"), (20, 450)),
    ProductType("bicycle", "sports", ("bicycle", "road bike", "mountain bike"),
                ("bike", "cycle", "mtb"), ("aluminium", "carbon", "steel"), ("s frame", "m frame", "l frame"),
                ("21 speed", "disc brakes", "suspension fork"), ("commuting", "trail riding"), (200, 3000)),
    ProductType("tent", "sports", ("tent", "camping tent", "dome tent"),
                ("shelter", "pop up tent"), ("polyester", "nylon", "canvas"), ("2 person", "4 person", "6 person"),
                ("waterproof", "quick setup", "blackout"), ("festivals", "family camping"), (40, 700)),
    ProductType("lipstick", "beauty", ("lipstick", "lip colour", "matte lipstick"),
                ("lippy", "lip paint", "gloss"), ("vegan", "cruelty free", "organic"), ("3.5g", "4g"),
                ("long lasting", "hydrating", "transfer proof"), ("evenings out", "everyday makeup"), (5, 60)),
    ProductType("face cream", "beauty", ("face cream", "moisturiser", "day cream"),
                ("moisturizer", "lotion", "skin cream"), ("vegan", "organic", "fragrance free"), ("30ml", "50ml", "100ml"),
                ("spf 30", "anti-ageing", "hyaluronic acid"), ("dry skin", "sensitive skin"), (8, 150)),
    ProductType("shampoo", "beauty", ("shampoo", "hair shampoo", "clarifying shampoo"),
                ("hair wash", "poo"), ("vegan", "organic", "sulphate free"), ("250ml", "400ml", "1 litre"),
                ("anti-dandruff", "volumising", "colour protect"), ("curly hair", "oily hair"), (4, 40)),
)

COLOURS: dict[str, tuple[str, ...]] = {
    # colour -> surface forms sellers use (first is canonical)
    "black": ("black", "jet black", "onyx"),
    "white": ("white", "ivory", "off-white"),
    "red": ("red", "crimson", "scarlet"),
    "blue": ("blue", "cobalt", "azure"),
    "navy": ("navy", "navy blue", "midnight blue"),
    "green": ("green", "olive", "forest green"),
    "grey": ("grey", "gray", "charcoal"),
    "pink": ("pink", "blush", "rose"),
    "beige": ("beige", "sand", "camel"),
    "brown": ("brown", "chocolate", "tan"),
    "yellow": ("yellow", "mustard", "lemon"),
    "purple": ("purple", "violet", "lilac"),
    "orange": ("orange", "coral", "rust"),
    "silver": ("silver", "space grey", "platinum"),
}

BRANDS: dict[str, tuple[str, ...]] = {
    "footwear": ("stridewell", "peakfoot", "urbanstep", "solace", "trailfox", "kinetica", "marlow", "veloz"),
    "apparel": ("northloom", "threadly", "cotonia", "urbanite", "kestrel", "maison ash", "bluefield", "rowan"),
    "electronics": ("voltra", "nexon", "pixelar", "sonique", "arcwave", "quantix", "lumetra", "zentek"),
    "kitchen": ("brewmaster", "cucina", "heatwise", "steelcraft", "kitchara", "pottery lane", "zestro", "ovenly"),
    "furniture": ("oakhaven", "nordhem", "loftline", "restwell", "casa nova", "woodpine", "sitwell", "modulo"),
    "bags": ("packwise", "roamer", "carryall", "nomada", "satchelco", "wanderly", "tote & co", "ridgeway"),
    "sports": ("fitcore", "ironpeak", "summitgear", "velocity", "zenflow", "trailblaze", "powerhaus", "aerofit"),
    "beauty": ("glowlab", "puraveda", "lumiere", "velvetine", "botanica", "dermaplus", "silkara", "bloomé"),
}

USE_PHRASES = ("for", "ideal for", "great for", "perfect for", "made for")
COLLOQUIAL_FILLERS = ("comfy", "good", "nice", "best", "decent", "cool")
STOPWORDS = frozenset(
    "a an and are as at be by for from has in is it its of on or that the to was were will with "
    "this these your you our we i me my also known made great ideal perfect".split()
)
