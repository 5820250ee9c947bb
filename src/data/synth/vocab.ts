// Word lists for the synthetic generator: two Amazon-like category trees (Office, Clothing) with the
// attributes that tell items of one product type apart, and the phrases reviews, critiques and
// narratives are made from. Brands and product lines are invented (syllables), never real names.

/** An attribute dimension: values as they appear in titles (and in critiques). */
export interface Dim {
  name: string;
  /** How a critique asks for another value: {new}, {old}. */
  ask: string[];
  values: string[];
}

export const DIMS: Record<string, Dim> = {
  tip: { name: 'point size', values: ['0.38mm', '0.5mm', '0.7mm', '1.0mm', '1.6mm'], ask: ['{new}, not {old}.', 'I need a {new} point instead of {old}.', 'Same pen but {new} please.'] },
  ink: { name: 'ink color', values: ['Black Ink', 'Blue Ink', 'Red Ink', 'Green Ink', 'Purple Ink', 'Assorted Ink'], ask: ['{new}, not {old}.', 'Do you have it with {new}?', 'I want {new} this time.'] },
  pack: { name: 'pack size', values: ['1 Count', '2-Pack', '3-Pack', '6-Pack', '12-Pack', '24-Pack', '36-Pack', '48-Pack'], ask: ['A {bigger} pack: {new}, not {old}.', 'Can I get the {new} instead?', 'I need the {new} version.'] },
  lead: { name: 'lead size', values: ['0.5mm', '0.7mm', '0.9mm', '#2 HB'], ask: ['{new} lead, not {old}.', 'I need {new} instead.'] },
  tipShape: { name: 'tip', values: ['Chisel Tip', 'Fine Tip', 'Bullet Tip', 'Ultra Fine Tip', 'Brush Tip'], ask: ['I need a {new}, not a {old}.', 'Something with a {new} for this job.', '{new} instead of {old}.'] },
  paperSize: { name: 'size', values: ['Letter Size', 'Legal Size', 'A4', 'Tabloid 11 x 17'], ask: ['{new}, not {old}.', 'I need it in {new}.'] },
  sheets: { name: 'sheet count', values: ['100 Sheets', '250 Sheets', '500 Sheets', '2500 Sheets', '5000 Sheets'], ask: ['A {bigger} supply: {new}.', '{new} instead of {old}.'] },
  ruling: { name: 'ruling', values: ['College Ruled', 'Wide Ruled', 'Graph Ruled', 'Dot Grid', 'Blank'], ask: ['{new} pages, not {old}.', 'I prefer {new}.'] },
  color: { name: 'color', values: ['Black', 'White', 'Gray', 'Blue', 'Red', 'Green', 'Pink', 'Purple', 'Yellow', 'Silver', 'Clear', 'Assorted Colors'], ask: ['{new}, not {old}.', 'Same thing but in {new}.', 'Do you have it in {new}?', 'I would like {new} instead of {old}.'] },
  noteSize: { name: 'size', values: ['1.5 x 2 Inches', '3 x 3 Inches', '3 x 5 Inches', '4 x 6 Inches'], ask: ['{new} notes, {old} is too {oldIs}.', 'I need {new} instead.'] },
  material: { name: 'material', values: ['Mesh', 'Plastic', 'Bamboo', 'Metal', 'Faux Leather', 'Wood'], ask: ['{new} rather than {old}.', 'Something in {new}, please.', 'I want a {new} one.'] },
  capacity: { name: 'capacity', values: ['20-Sheet Capacity', '40-Sheet Capacity', '60-Sheet Capacity', '100-Sheet Capacity'], ask: ['It has to handle more: {new}.', '{new}, not {old}.'] },
  blade: { name: 'blade length', values: ['5 Inch', '7 Inch', '8 Inch', '10 Inch'], ask: ['{new} blades instead of {old}.', 'A {bigger} one: {new}.'] },
  ring: { name: 'ring size', values: ['0.5 Inch', '1 Inch', '1.5 Inch', '2 Inch', '3 Inch'], ask: ['{new} rings, the {old} ones are too {oldIs}.', 'I need {new} capacity.'] },
  width: { name: 'width', values: ['3/4 Inch', '1 Inch', '1.88 Inch', '2 Inch', '3 Inch'], ask: ['{new} wide, not {old}.', 'A {bigger} roll: {new}.'] },
  clipSize: { name: 'size', values: ['Mini', 'Small', 'Medium', 'Large', 'Jumbo'], ask: ['{new}, the {old} ones are too {oldIs}.', 'I need {new} ones.'] },
  planSize: { name: 'size', values: ['Pocket Size', '5 x 8 Inches', '8.5 x 11 Inches'], ask: ['{new}, not {old}.', 'Something {bigger}: {new}.'] },
  labelSize: { name: 'label size', values: ['1 x 2-5/8 Inches', '2 x 4 Inches', '3-1/3 x 4 Inches', '4 x 6 Inches'], ask: ['{new} labels instead of {old}.', 'I need {new}.'] },
  tabs: { name: 'tab count', values: ['5-Tab', '8-Tab', '12-Tab', '31-Tab'], ask: ['{new}, not {old}.', 'I need more sections: {new}.'] },
  envSize: { name: 'envelope size', values: ['#10', '6 x 9 Inches', '9 x 12 Inches', '10 x 13 Inches'], ask: ['{new} envelopes, not {old}.', 'I need {new} instead.'] },
  mailerSize: { name: 'mailer size', values: ['#0 6 x 10', '#2 8.5 x 12', '#4 9.5 x 14.5', '#6 12.5 x 19'], ask: ['{new}, the {old} is too {oldIs}.', 'A {bigger} mailer: {new}.'] },
  boxSize: { name: 'box size', values: ['6 x 6 x 6 Inches', '8 x 8 x 8 Inches', '12 x 9 x 6 Inches', '12 x 12 x 12 Inches'], ask: ['{new} boxes, not {old}.', 'I need {bigger} boxes: {new}.'] },
  colors: { name: 'color count', values: ['12 Colors', '24 Colors', '48 Colors', '64 Colors'], ask: ['A {bigger} set: {new}.', '{new} instead of {old}.'] },
  board: { name: 'board size', values: ['24 x 36 Inches', '36 x 48 Inches', '48 x 72 Inches'], ask: ['{new}, the {old} board is too {oldIs}.', 'I need a {bigger} board: {new}.'] },
  frame: { name: 'frame', values: ['Aluminum Frame', 'Wood Frame', 'Frameless'], ask: ['{new}, not {old}.', 'One with an {new} would fit better.'] },
  yield: { name: 'yield', values: ['Standard Yield', 'High Yield', 'Extra High Yield'], ask: ['{new}, not {old}.', 'I print a lot, I need {new}.'] },
  connect: { name: 'connection', values: ['Wireless', 'USB', 'Bluetooth', 'Wired'], ask: ['{new}, not {old}.', 'I need a {new} one.'] },
  deskSize: { name: 'width', values: ['40 Inch', '48 Inch', '55 Inch', '63 Inch'], ask: ['{new}, the {old} one is too {oldIs}.', 'Something {bigger}: {new}.'] },
  mat: { name: 'size', values: ['36 x 48 Inches', '45 x 53 Inches', '46 x 60 Inches'], ask: ['{new}, not {old}.', 'A {bigger} mat: {new}.'] },
  // Clothing
  apparelColor: { name: 'color', values: ['Black', 'White', 'Navy', 'Heather Gray', 'Charcoal', 'Red', 'Burgundy', 'Olive', 'Khaki', 'Beige', 'Light Blue', 'Pink', 'Green', 'Brown', 'Floral', 'Striped', 'Plaid', 'Leopard'], ask: ['{new}, not {old}.', 'Same style in {new}.', 'Do you have this in {new}?', 'I want it in {new} instead of {old}.'] },
  size: { name: 'size', values: ['X-Small', 'Small', 'Medium', 'Large', 'X-Large', 'XX-Large', '3X-Large'], ask: ['A size {up}: {new}, not {old}.', '{new} please, {old} did not fit.', 'I need it in {new}.'] },
  kidsSize: { name: 'size', values: ['Size 4', 'Size 5', 'Size 6', 'Size 7', 'Size 8', 'Size 10', 'Size 12', 'Size 14', 'Size 16'], ask: ['{new}, {old} is too {oldIs} now.', 'I need {new} for my kid.'] },
  shoeW: { name: 'size', values: ['Size 6', 'Size 6.5', 'Size 7', 'Size 7.5', 'Size 8', 'Size 8.5', 'Size 9', 'Size 10'], ask: ['{new}, the {old} was too {oldIs}.', 'Half a size {up}: {new}.'] },
  shoeM: { name: 'size', values: ['Size 8', 'Size 9', 'Size 9.5', 'Size 10', 'Size 10.5', 'Size 11', 'Size 12', 'Size 13'], ask: ['{new}, the {old} was too {oldIs}.', 'I need {new}.'] },
  shoeK: { name: 'size', values: ['Toddler 9', 'Toddler 11', 'Little Kid 1', 'Little Kid 2', 'Big Kid 4', 'Big Kid 5'], ask: ['{new}, {old} is too {oldIs} now.', 'I need {new}.'] },
  waist: { name: 'size', values: ['28W x 30L', '30W x 32L', '32W x 32L', '34W x 30L', '34W x 32L', '36W x 32L', '38W x 30L'], ask: ['{new}, not {old}.', 'I need {new}, the {old} did not fit.'] },
  fabric: { name: 'fabric', values: ['Cotton', 'Linen', 'Wool', 'Cashmere', 'Denim', 'Fleece', 'Silk', 'Satin', 'Polyester', 'Modal'], ask: ['{new}, not {old}.', 'Something in {new} instead.', 'I prefer {new} to {old}.'] },
  fit: { name: 'fit', values: ['Slim Fit', 'Regular Fit', 'Relaxed Fit', 'Oversized'], ask: ['{new}, not {old}.', 'I want a {new} this time.'] },
  sleeve: { name: 'sleeve', values: ['Short Sleeve', 'Long Sleeve', 'Sleeveless', '3/4 Sleeve'], ask: ['{new}, not {old}.', 'The same but {new}.'] },
  shoeMaterial: { name: 'material', values: ['Leather', 'Suede', 'Canvas', 'Mesh', 'Faux Leather', 'Knit'], ask: ['{new} instead of {old}.', 'I want {new} ones.'] },
  metal: { name: 'metal', values: ['Sterling Silver', '14K Gold Plated', 'Rose Gold', 'Stainless Steel', 'Titanium'], ask: ['{new}, not {old}.', 'Do you have it in {new}?', 'I want {new} this time.'] },
  chain: { name: 'length', values: ['16 Inch', '18 Inch', '20 Inch', '24 Inch'], ask: ['{new}, the {old} is too {oldLen}.', 'A {longer} chain: {new}.'] },
  band: { name: 'band', values: ['Leather Strap', 'Stainless Steel Bracelet', 'Silicone Band', 'Mesh Band', 'Nylon Strap'], ask: ['{new} instead of {old}.', 'One with a {new}.'] },
  lens: { name: 'lens', values: ['Polarized', 'Non-Polarized', 'Mirrored', 'Gradient'], ask: ['{new} lenses, not {old}.', 'I need {new} ones.'] },
  ringSize: { name: 'ring size', values: ['Size 5', 'Size 6', 'Size 7', 'Size 8', 'Size 9', 'Size 10', 'Size 11', 'Size 12'], ask: ['{new}, the {old} was too {oldIs}.', 'Half a size {up}: {new}.', 'I need a {new}.'] },
  pairs: { name: 'pack size', values: ['1 Pair', '3 Pairs', '6 Pairs', '10 Pairs', '12 Pairs'], ask: ['A {bigger} pack: {new}.', '{new} instead of {old}.'] },
};

/** A level-4 product type: its path below the root, leaves (level 5) if any, noun, dims, base price. */
export interface TypeSpec {
  path: [string, string, string];
  /** "Leaf" or "Leaf=Noun in titles". */
  leaves: string[];
  noun: string;
  dims: string[];
  price: number;
  features: string;
}

export interface Domain {
  root: string;
  types: TypeSpec[];
  features: Record<string, string[]>;
  uses: string[];
  /** Title prefix by the type path's second level (Clothing: "Women's"). */
  audience?: Record<string, string>;
  profiles: string[][];
}

const t = (path: string, leaves: string, noun: string, dims: string, price: number, features: string): TypeSpec => {
  const p = path.split(' > ');
  return { path: [p[0], p[1], p[2]], leaves: leaves ? leaves.split('|') : [], noun, dims: dims.split(' '), price, features };
};

export const OFFICE: Domain = {
  root: 'Office Products',
  types: [
    t('Office & School Supplies > Writing & Correction Supplies > Pens & Refills', 'Gel Ink Rollerball Pens=Gel Pens|Ballpoint Pens|Fountain Pens|Porous Point Pens|Pen Refills', 'Pens', 'tip ink pack', 9, 'writing'),
    t('Office & School Supplies > Writing & Correction Supplies > Pencils', 'Wood Pencils|Mechanical Pencils|Colored Pencils', 'Pencils', 'lead pack', 7, 'writing'),
    t('Office & School Supplies > Writing & Correction Supplies > Markers & Highlighters', 'Highlighters|Permanent Markers|Dry Erase Markers', 'Markers', 'tipShape ink pack', 10, 'writing'),
    t('Office & School Supplies > Writing & Correction Supplies > Correction Products', 'Correction Tape|Correction Fluid', 'Correction Tape', 'pack', 6, 'writing'),
    t('Office & School Supplies > Writing & Correction Supplies > Erasers', '', 'Erasers', 'color pack', 5, 'writing'),
    t('Office & School Supplies > Paper > Copy & Multipurpose Paper', '', 'Copy Paper', 'paperSize sheets', 30, 'paper'),
    t('Office & School Supplies > Paper > Notebooks & Writing Pads', 'Composition Notebooks|Wirebound Notebooks|Legal Pads', 'Notebooks', 'ruling color pack', 12, 'paper'),
    t('Office & School Supplies > Paper > Sticky Notes', '', 'Sticky Notes', 'noteSize color pack', 9, 'paper'),
    t('Office & School Supplies > Paper > Cardstock', '', 'Cardstock', 'paperSize color sheets', 15, 'paper'),
    t('Office & School Supplies > Paper > Index Cards', '', 'Index Cards', 'noteSize ruling pack', 6, 'paper'),
    t('Office & School Supplies > Desk Accessories & Workspace Organizers > Desk Organizers', 'Desktop Trays|Drawer Organizers|Pencil Cups', 'Desk Organizer', 'color material', 18, 'desk'),
    t('Office & School Supplies > Desk Accessories & Workspace Organizers > Staplers & Punches', 'Desktop Staplers=Stapler|Hole Punches=Hole Punch|Staple Removers=Staple Remover', 'Stapler', 'capacity color', 16, 'desk'),
    t('Office & School Supplies > Desk Accessories & Workspace Organizers > Scissors', '', 'Scissors', 'blade pack', 10, 'desk'),
    t('Office & School Supplies > Desk Accessories & Workspace Organizers > Tape Dispensers', '', 'Tape Dispenser', 'color', 10, 'desk'),
    t('Office & School Supplies > Desk Accessories & Workspace Organizers > Calculators', 'Basic Calculators=Calculator|Scientific Calculators=Scientific Calculator|Printing Calculators=Printing Calculator', 'Calculator', 'color', 18, 'electronics'),
    t('Office & School Supplies > Filing Products > File Folders', 'Hanging File Folders|Manila File Folders|Expanding Files', 'File Folders', 'paperSize color pack', 15, 'paper'),
    t('Office & School Supplies > Filing Products > Binders', 'Ring Binders=Binder|Presentation Binders=View Binder', 'Binder', 'ring color pack', 12, 'desk'),
    t('Office & School Supplies > Filing Products > Sheet Protectors', '', 'Sheet Protectors', 'paperSize pack', 11, 'paper'),
    t('Office & School Supplies > Filing Products > Storage Boxes', '', 'File Storage Boxes', 'paperSize pack', 25, 'desk'),
    t('Office & School Supplies > Tape, Adhesives & Fasteners > Tape', 'Transparent Tape|Packing Tape|Masking Tape|Double-Sided Tape', 'Tape', 'width pack', 9, 'desk'),
    t('Office & School Supplies > Tape, Adhesives & Fasteners > Glue', 'Glue Sticks|Liquid Glue', 'Glue Sticks', 'pack', 7, 'desk'),
    t('Office & School Supplies > Tape, Adhesives & Fasteners > Clips & Fasteners', 'Binder Clips|Paper Clips|Push Pins|Rubber Bands', 'Binder Clips', 'clipSize color pack', 6, 'desk'),
    t('Office & School Supplies > Calendars, Planners & Personal Organizers > Planners', 'Weekly Planners=Weekly Planner|Daily Planners=Daily Planner|Academic Planners=Academic Planner', 'Planner', 'planSize color', 16, 'paper'),
    t('Office & School Supplies > Calendars, Planners & Personal Organizers > Wall Calendars', '', 'Wall Calendar', 'planSize', 12, 'paper'),
    t('Office & School Supplies > Labels, Indexes & Stamps > Labels', 'Address Labels|Shipping Labels|File Folder Labels', 'Labels', 'labelSize pack', 20, 'paper'),
    t('Office & School Supplies > Labels, Indexes & Stamps > Dividers & Tabs', '', 'Tab Dividers', 'tabs color', 8, 'paper'),
    t('Office & School Supplies > Labels, Indexes & Stamps > Stamps & Stamp Pads', '', 'Stamp Pad', 'ink', 14, 'desk'),
    t('Office & School Supplies > Envelopes, Mailers & Shipping Supplies > Envelopes', 'Business Envelopes|Catalog Envelopes|Security Tint Envelopes', 'Envelopes', 'envSize pack', 14, 'paper'),
    t('Office & School Supplies > Envelopes, Mailers & Shipping Supplies > Mailers', 'Bubble Mailers|Poly Mailers', 'Mailers', 'mailerSize pack', 16, 'paper'),
    t('Office & School Supplies > Envelopes, Mailers & Shipping Supplies > Shipping Boxes', '', 'Shipping Boxes', 'boxSize pack', 30, 'paper'),
    t('Office & School Supplies > Education & Crafts > Art Supplies', 'Crayons|Watercolor Paints=Watercolor Set|Sketch Pads=Sketch Pad', 'Art Set', 'colors pack', 14, 'writing'),
    t('Office & School Supplies > Education & Crafts > Whiteboards & Accessories', 'Dry Erase Boards=Dry Erase Board|Cork Boards=Cork Board|Whiteboard Erasers=Whiteboard Eraser', 'Whiteboard', 'board frame', 35, 'desk'),
    t('Office Electronics > Printers & Accessories > Ink & Toner', 'Inkjet Ink Cartridges=Ink Cartridge|Laser Toner Cartridges=Toner Cartridge', 'Ink Cartridge', 'ink yield pack', 35, 'electronics'),
    t('Office Electronics > Printers & Accessories > Printers', 'Inkjet Printers=Inkjet Printer|Laser Printers=Laser Printer|Label Printers=Label Printer', 'Printer', 'color connect', 160, 'electronics'),
    t('Office Electronics > Presentation Products > Laser Pointers', '', 'Presentation Clicker', 'color connect', 20, 'electronics'),
    t('Office Electronics > Telephones & Accessories > Headsets', 'Wired Headsets=Headset|Wireless Headsets=Wireless Headset', 'Headset', 'color connect', 45, 'electronics'),
    t('Office Electronics > Office Electronics Accessories > Label Makers', '', 'Label Maker', 'color connect', 40, 'electronics'),
    t('Office Electronics > Office Electronics Accessories > Shredders', '', 'Paper Shredder', 'capacity color', 90, 'electronics'),
    t('Office Electronics > Office Electronics Accessories > Laminators', '', 'Laminator', 'paperSize color', 50, 'electronics'),
    t('Office Furniture & Lighting > Chairs & Sofas > Office Chairs', 'Desk Chairs=Desk Chair|Executive Chairs=Executive Chair|Ergonomic Chairs=Ergonomic Chair', 'Office Chair', 'color material', 150, 'furniture'),
    t('Office Furniture & Lighting > Desks & Workstations > Desks', 'Computer Desks=Computer Desk|Standing Desks=Standing Desk', 'Desk', 'color deskSize', 200, 'furniture'),
    t('Office Furniture & Lighting > Office Lighting > Desk Lamps', '', 'Desk Lamp', 'color', 35, 'furniture'),
    t('Office Furniture & Lighting > Carts & Stands > Monitor Stands', '', 'Monitor Stand', 'color material', 30, 'furniture'),
    t('Office Furniture & Lighting > Furniture Accessories > Chair Mats', '', 'Chair Mat', 'mat', 40, 'furniture'),
    t('Office Furniture & Lighting > Furniture Accessories > Footrests', '', 'Footrest', 'color', 30, 'furniture'),
  ],
  features: {
    writing: ['Retractable', 'Quick-Dry', 'Smooth-Writing', 'Comfort Grip', 'Low-Odor', 'Smear-Proof', 'Refillable', 'Erasable', 'Archival'],
    paper: ['Premium', 'Recycled', 'Heavyweight', 'Bright White', 'Acid-Free', 'Tear-Resistant', 'Durable'],
    desk: ['Compact', 'Heavy-Duty', 'Non-Slip', 'Space-Saving', 'Sturdy', 'Stackable', 'Portable'],
    electronics: ['Wireless', 'Compact', 'High-Speed', 'Energy-Efficient', 'Noise-Cancelling', 'Rechargeable', 'Quiet'],
    furniture: ['Adjustable', 'Ergonomic', 'Height-Adjustable', 'Breathable', 'Sturdy', 'Foldable', 'Modern'],
  },
  uses: ['taking notes in meetings', 'my home office', 'school', 'the classroom', 'journaling', 'bullet journaling', 'organizing paperwork', 'shipping orders for my small business', 'my kids\u2019 homework', 'everyday office work', 'tax season', 'studying for exams'],
  profiles: [
    ['Organized', 'Detail-oriented', 'Budget-conscious', 'Practical', 'Creative', 'Busy', 'Efficient', 'Meticulous'],
    ['small-business owner', 'student', 'teacher', 'home-office worker', 'office manager', 'planner enthusiast', 'artist', 'parent'],
  ],
};

// Clothing: a tree per audience (Women, Men, Girls, Boys).
const clothing: TypeSpec[] = [];
const add = (aud: string, section: string, list: [string, string, string, string, number, string][]) => {
  for (const [type, leaves, noun, dims, price, features] of list) clothing.push(t(`${aud} > ${section} > ${type}`, leaves, noun, dims, price, features));
};
add('Women', 'Clothing', [
  ['Dresses', 'Casual=Casual Dress|Cocktail=Cocktail Dress|Maxi=Maxi Dress|Wear to Work=Work Dress', 'Dress', 'apparelColor size fabric', 35, 'apparel'],
  ['Tops, Tees & Blouses', 'T-Shirts=T-Shirt|Blouses & Button-Down Shirts=Blouse|Tanks & Camis=Tank Top|Henleys=Henley', 'Top', 'apparelColor size sleeve', 20, 'apparel'],
  ['Sweaters', 'Pullovers=Pullover Sweater|Cardigans=Cardigan', 'Sweater', 'apparelColor size fabric', 35, 'warm'],
  ['Jeans', 'Skinny=Skinny Jeans|Straight=Straight Jeans|Bootcut=Bootcut Jeans', 'Jeans', 'apparelColor waist fit', 40, 'apparel'],
  ['Pants', 'Leggings|Casual=Casual Pants|Wear to Work=Dress Pants', 'Pants', 'apparelColor size fit', 30, 'apparel'],
  ['Shorts', '', 'Shorts', 'apparelColor size fabric', 22, 'apparel'],
  ['Skirts', '', 'Skirt', 'apparelColor size fabric', 28, 'apparel'],
  ['Coats, Jackets & Vests', 'Down & Parkas=Down Parka|Denim Jackets=Denim Jacket|Trench & Rain=Rain Jacket', 'Jacket', 'apparelColor size', 80, 'warm'],
  ['Active', 'Active Leggings|Sports Bras=Sports Bra|Active Shirts & Tees=Workout Top', 'Activewear', 'apparelColor size', 28, 'active'],
  ['Swimsuits & Cover Ups', 'One-Pieces=One Piece Swimsuit|Bikinis=Bikini Set|Cover-Ups=Swim Cover Up', 'Swimsuit', 'apparelColor size', 32, 'active'],
  ['Lingerie, Sleep & Lounge', 'Sleepwear=Pajama Set|Bras=Bra|Panties=Underwear', 'Pajama Set', 'apparelColor size fabric', 25, 'apparel'],
  ['Socks & Hosiery', '', 'Socks', 'apparelColor pairs', 12, 'apparel'],
]);
add('Women', 'Shoes', [
  ['Sneakers', 'Fashion Sneakers|Running Shoes|Walking Shoes', 'Sneakers', 'apparelColor shoeW shoeMaterial', 60, 'footwear'],
  ['Boots', 'Ankle & Bootie=Ankle Boots|Knee-High=Knee High Boots|Rain=Rain Boots', 'Boots', 'apparelColor shoeW shoeMaterial', 80, 'footwear'],
  ['Sandals', 'Flat Sandals|Heeled Sandals|Slides', 'Sandals', 'apparelColor shoeW', 30, 'footwear'],
  ['Flats', '', 'Ballet Flats', 'apparelColor shoeW shoeMaterial', 35, 'footwear'],
  ['Pumps', '', 'Pumps', 'apparelColor shoeW', 55, 'footwear'],
  ['Loafers & Slip-Ons', '', 'Loafers', 'apparelColor shoeW shoeMaterial', 50, 'footwear'],
  ['Slippers', '', 'Slippers', 'apparelColor shoeW', 22, 'warm'],
]);
add('Women', 'Accessories', [
  ['Handbags & Wallets', 'Totes=Tote Bag|Crossbody Bags=Crossbody Bag|Shoulder Bags=Shoulder Bag|Wallets=Wallet', 'Handbag', 'apparelColor shoeMaterial', 40, 'accessory'],
  ['Hats & Caps', 'Baseball Caps=Baseball Cap|Sun Hats=Sun Hat|Beanies=Beanie', 'Hat', 'apparelColor', 16, 'accessory'],
  ['Scarves & Wraps', '', 'Scarf', 'apparelColor fabric', 18, 'warm'],
  ['Sunglasses & Eyewear', '', 'Sunglasses', 'apparelColor lens', 20, 'accessory'],
  ['Belts', '', 'Belt', 'apparelColor size', 18, 'accessory'],
]);
add('Women', 'Jewelry', [
  ['Necklaces', 'Pendants=Pendant Necklace|Chains=Chain Necklace|Chokers=Choker Necklace', 'Necklace', 'metal chain', 28, 'jewelry'],
  ['Earrings', 'Stud=Stud Earrings|Hoop=Hoop Earrings|Drop & Dangle=Drop Earrings', 'Earrings', 'metal', 22, 'jewelry'],
  ['Bracelets', 'Bangle=Bangle Bracelet|Charm=Charm Bracelet|Tennis=Tennis Bracelet', 'Bracelet', 'metal', 25, 'jewelry'],
  ['Rings', '', 'Ring', 'metal ringSize', 24, 'jewelry'],
]);
add('Women', 'Watches', [['Wrist Watches', '', 'Watch', 'band apparelColor', 60, 'jewelry']]);
add('Men', 'Clothing', [
  ['Shirts', 'T-Shirts=T-Shirt|Casual Button-Down Shirts=Button-Down Shirt|Polos=Polo Shirt|Dress Shirts=Dress Shirt|Henleys=Henley', 'Shirt', 'apparelColor size sleeve', 22, 'apparel'],
  ['Sweaters', 'Pullovers=Pullover Sweater|Cardigans=Cardigan|Vests=Sweater Vest', 'Sweater', 'apparelColor size fabric', 38, 'warm'],
  ['Jeans', 'Slim=Slim Jeans|Straight=Straight Jeans|Relaxed=Relaxed Jeans', 'Jeans', 'apparelColor waist fit', 42, 'apparel'],
  ['Pants', 'Casual=Chino Pants|Dress=Dress Pants|Sweatpants', 'Pants', 'apparelColor waist fit', 35, 'apparel'],
  ['Shorts', '', 'Shorts', 'apparelColor size fabric', 25, 'apparel'],
  ['Suits & Sport Coats', 'Suits=Suit|Sport Coats & Blazers=Blazer', 'Blazer', 'apparelColor size fit', 120, 'apparel'],
  ['Jackets & Coats', 'Down & Parkas=Down Jacket|Lightweight Jackets=Windbreaker|Wool & Blends=Wool Coat', 'Jacket', 'apparelColor size', 85, 'warm'],
  ['Active', 'Active Shirts & Tees=Performance T-Shirt|Active Shorts=Running Shorts|Track & Active Jackets=Track Jacket', 'Activewear', 'apparelColor size', 28, 'active'],
  ['Underwear', 'Boxer Briefs|Boxers|Undershirts', 'Boxer Briefs', 'apparelColor size pairs', 24, 'apparel'],
  ['Socks', '', 'Socks', 'apparelColor pairs', 14, 'apparel'],
  ['Sleep & Lounge', '', 'Pajama Pants', 'apparelColor size fabric', 26, 'apparel'],
  ['Swim', '', 'Swim Trunks', 'apparelColor size', 24, 'active'],
]);
add('Men', 'Shoes', [
  ['Sneakers', 'Fashion Sneakers|Running Shoes|Walking Shoes', 'Sneakers', 'apparelColor shoeM shoeMaterial', 65, 'footwear'],
  ['Boots', 'Chukka=Chukka Boots|Work & Safety=Work Boots|Western=Western Boots', 'Boots', 'apparelColor shoeM shoeMaterial', 95, 'footwear'],
  ['Oxfords', '', 'Oxford Shoes', 'apparelColor shoeM shoeMaterial', 70, 'footwear'],
  ['Loafers & Slip-Ons', '', 'Loafers', 'apparelColor shoeM shoeMaterial', 60, 'footwear'],
  ['Sandals', '', 'Sandals', 'apparelColor shoeM', 32, 'footwear'],
  ['Slippers', '', 'Slippers', 'apparelColor shoeM', 25, 'warm'],
]);
add('Men', 'Accessories', [
  ['Hats & Caps', 'Baseball Caps=Baseball Cap|Beanies=Beanie|Fedoras=Fedora', 'Hat', 'apparelColor', 18, 'accessory'],
  ['Belts', '', 'Belt', 'apparelColor size', 22, 'accessory'],
  ['Wallets, Card Cases & Money Organizers', 'Wallets=Wallet|Card Cases=Card Holder', 'Wallet', 'apparelColor shoeMaterial', 25, 'accessory'],
  ['Sunglasses & Eyewear', '', 'Sunglasses', 'apparelColor lens', 22, 'accessory'],
  ['Neckties', '', 'Necktie', 'apparelColor fabric', 18, 'accessory'],
]);
add('Men', 'Jewelry', [
  ['Necklaces', '', 'Chain Necklace', 'metal chain', 30, 'jewelry'],
  ['Bracelets', '', 'Bracelet', 'metal', 28, 'jewelry'],
  ['Rings', '', 'Ring', 'metal ringSize', 30, 'jewelry'],
]);
add('Men', 'Watches', [['Wrist Watches', '', 'Watch', 'band apparelColor', 75, 'jewelry']]);
for (const kid of ['Girls', 'Boys']) {
  add(kid, 'Clothing', [
    ...(kid === 'Girls' ? ([['Dresses', 'Casual=Casual Dress|Party=Party Dress', 'Dress', 'apparelColor kidsSize', 22, 'apparel']] as [string, string, string, string, number, string][]) : []),
    ['Tops, Tees & Shirts', 'T-Shirts=T-Shirt|Polos=Polo Shirt', 'T-Shirt', 'apparelColor kidsSize sleeve', 12, 'apparel'],
    ['Pants', 'Jeans|Leggings|Joggers', 'Pants', 'apparelColor kidsSize', 18, 'apparel'],
    ['Active', '', 'Activewear Set', 'apparelColor kidsSize', 20, 'active'],
    ['Jackets & Coats', '', 'Jacket', 'apparelColor kidsSize', 40, 'warm'],
    ['Socks & Tights', '', 'Socks', 'apparelColor pairs', 10, 'apparel'],
  ]);
  add(kid, 'Shoes', [
    ['Sneakers', '', 'Sneakers', 'apparelColor shoeK', 40, 'footwear'],
    ['Boots', '', 'Boots', 'apparelColor shoeK', 45, 'footwear'],
    ['Sandals', '', 'Sandals', 'apparelColor shoeK', 22, 'footwear'],
  ]);
}

export const CLOTHING: Domain = {
  root: 'Clothing, Shoes & Jewelry',
  types: clothing,
  audience: { Women: "Women's", Men: "Men's", Girls: "Girls'", Boys: "Boys'" },
  features: {
    apparel: ['Casual', 'Classic', 'Lightweight', 'Stretch', 'Soft', 'Vintage', 'Relaxed', 'Elegant', 'Everyday', 'Wrinkle-Free'],
    warm: ['Warm', 'Cozy', 'Water-Resistant', 'Insulated', 'Thermal', 'Hooded', 'Windproof'],
    active: ['Quick-Dry', 'Moisture-Wicking', 'Breathable', 'Compression', 'Lightweight', 'UPF 50+'],
    footwear: ['Waterproof', 'Lightweight', 'Memory Foam', 'Non-Slip', 'Cushioned', 'Slip-On', 'Wide Width'],
    accessory: ['Classic', 'Adjustable', 'Vintage', 'Minimalist', 'RFID Blocking', 'Packable'],
    jewelry: ['Hypoallergenic', 'Dainty', 'Minimalist', 'Vintage', 'Handmade', 'Classic'],
  },
  uses: ['work', 'the gym', 'weekends', 'travel', 'date night', 'everyday wear', 'a wedding', 'hiking', 'running errands', 'the office', 'vacation', 'school'],
  profiles: [
    ['Fashionable', 'Practical', 'Budget-conscious', 'Active', 'Trend-conscious', 'Comfort-seeking', 'Classic', 'Outdoorsy'],
    ['woman', 'man', 'parent', 'professional', 'student', 'runner', 'traveler', 'shopper'],
  ],
};

/** Syllables for invented brand and product-line names. */
export const BRAND_SYLLABLES = {
  start: ['Nor', 'Quill', 'Vel', 'Cor', 'Bram', 'Ash', 'Kes', 'Lum', 'Mar', 'Ost', 'Pell', 'Rav', 'Sol', 'Tam', 'Wex', 'Zan', 'Bel', 'Dra', 'Fen', 'Hal', 'Jun', 'Lor', 'Myr', 'Pax', 'Sev', 'Tor', 'Ux', 'Vin', 'Yar', 'Cal'],
  end: ['vale', 'bright', 'ora', 'ton', 'ique', 'wick', 'mont', 'ara', 'ford', 'lyn', 'ex', 'ia', 'ello', 'stone', 'field', 'core', 'well', 'io', 'ine', 'ette', 'ley', 'mark', 'ano', 'uma'],
};
export const LINE_WORDS = {
  start: ['Pro', 'Easy', 'Ultra', 'Max', 'Smart', 'Flex', 'Eco', 'Prime', 'Swift', 'Comfort', 'Daily', 'Urban', 'Pure', 'True', 'Bold', 'Aero', 'Core', 'Nova'],
  end: ['Glide', 'Line', 'Grip', 'Flow', 'Form', 'Fit', 'Mate', 'Edge', 'Works', 'Touch', 'Point', 'Craft', 'Wave', 'Lite', 'Plus', 'One'],
};

export const REVIEW = {
  summary: {
    5: ['Love it', 'Exactly what I needed', 'Great quality', 'Five stars', 'Highly recommend', 'Perfect', 'Excellent value', 'Better than expected', 'My new favorite'],
    4: ['Very good', 'Nice, with one small issue', 'Good value', 'Works well', 'Pretty good', 'Solid choice'],
    3: ['It is okay', 'Average', 'Does the job', 'Mixed feelings', 'Not bad, not great'],
    2: ['Disappointed', 'Not as described', 'Cheaply made', 'Would not buy again'],
    1: ['Terrible', 'Broke right away', 'Waste of money', 'Returned it'],
  } as Record<number, string[]>,
  opening: {
    5: ['I love {this} {noun}.', '{This} {noun} {is} exactly what I was looking for.', 'Great {noun} for the price.', 'I have bought several of these and they never disappoint.', 'Really happy with this purchase.'],
    4: ['Good {noun} overall.', 'I like {this} {noun} a lot.', 'Nice {noun}, does what it says.', 'Pretty happy with it.'],
    3: ['{This} {noun} {is} fine.', '{It} {is} okay.', 'Decent, but nothing special.'],
    2: ['Not impressed with {this} {noun}.', 'I expected more from {brand}.', '{This} {noun} did not hold up.'],
    1: ['Do not buy {this} {noun}.', 'Very poor quality.', '{This} {noun} fell apart almost right away.'],
  } as Record<number, string[]>,
  middle: {
    good: ['The {dim} is just right.', 'I use {obj} for {use} and {it} {works} great.', 'The quality is better than the price suggests.', 'It arrived quickly and well packaged.', 'The {feature} design really makes a difference.', '{brand} has become my go-to brand for these.', 'Looks exactly like the picture.', '{It} {holds} up well after weeks of daily use.'],
    mixed: ['The {dim} is a little different from what I expected.', '{It} {works} for {use}, but the finish could be better.', 'For the price it is acceptable.', 'Shipping took longer than promised.', 'It does the job, though I have seen better from {brand}.'],
    bad: ['The {dim} was wrong for what I needed.', '{It} fell apart after a few uses.', '{It} {looks} nothing like the photos.', 'Customer service was not helpful.', 'I expected better from {brand}.'],
  },
  closing: {
    good: ['Would buy again.', 'Highly recommend.', 'I will be ordering more.', 'Five stars from me.', ''],
    mixed: ['It is okay for now.', 'Might try another brand next time.', ''],
    bad: ['I returned {obj}.', 'Save your money.', 'Will not buy again.', ''],
  },
};

export const NARRATIVE = {
  reason: [
    'The user bought the {title} because {why}.',
    'They purchased the {title} since {why}.',
    '{This} {noun} {was} bought because {why}.',
  ],
  why: {
    critique: ['they wanted {critiqueValue} instead of the {oldValue} of their previous {prevNoun}', 'their last {prevNoun} was not quite right and this one is {critiqueValue}'],
    repeat: ['they had run out of the same {noun} and wanted to restock', 'they were happy with {obj} before and bought {obj} again'],
    related: ['it complements the {prevNoun} they bought before, for {use}', 'they needed {a}{noun} for {use} to go with their recent {prevNoun}'],
    fresh: ['they needed {a}reliable {noun} for {use}', 'it matched their taste for {feature} {category} items'],
  },
};
