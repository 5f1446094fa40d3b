"""Phrase banks for clinical notes: presenting stories, plans, review of systems, exam.

Templates use {he}/{his}/{He}/{His} for pronouns, {n} for a duration and {side} for
laterality. Keys are catalogue Dx keys; anything missing falls back to a generic sentence.
"""

from __future__ import annotations

HPI = {
    "uri": "{He} reports {n} days of nasal congestion, sore throat and a dry cough.",
    "pharyngitis": "{He} reports {n} days of sore throat and pain with swallowing, no cough.",
    "sinusitis": "{He} reports {n} days of facial pressure, purulent nasal discharge and "
    "congestion.",
    "bronchitis": "{He} reports {n} days of cough productive of clear sputum after a cold.",
    "otitis_right": "Parent reports {n} days of right ear pain, fussiness and fever.",
    "otitis_left": "Parent reports {n} days of left ear pain, fussiness and fever.",
    "uti": "{He} reports {n} days of dysuria, urinary frequency and urgency. No flank pain.",
    "lbp": "{He} reports low back pain for {n} days after lifting boxes, without radiation to "
    "the legs. No bowel or bladder incontinence and no saddle anesthesia.",
    "influenza": "{He} reports abrupt fever, myalgias, cough and fatigue starting {n} days ago.",
    "cellulitis": "{He} reports {n} days of a warm, red, tender area on the left lower leg.",
    "chest_pain": "{He} presents with substernal chest pressure that began {n} hours ago at "
    "rest, non-radiating, without diaphoresis.",
    "abd_pain": "{He} presents with {n} hours of crampy periumbilical abdominal pain with nausea.",
    "headache": "{He} reports a gradual-onset bifrontal headache for {n} days, similar to prior "
    "headaches. No thunderclap onset and no focal weakness.",
    "sprain_right": "{He} twisted the right ankle {n} hours ago stepping off a curb and has "
    "swelling and pain with weight bearing.",
    "sprain_left": "{He} twisted the left ankle {n} hours ago stepping off a curb and has "
    "swelling and pain with weight bearing.",
    "gastroenteritis": "{He} presents with {n} days of nausea, vomiting and watery diarrhea. "
    "Household contacts have similar symptoms.",
    "syncope": "{He} had a brief loss of consciousness while standing today, with prompt "
    "recovery and no confusion afterward.",
    "hand_laceration": "{He} cut the right palm on a kitchen knife {n} hours ago. Tetanus "
    "immunization is up to date.",
    "pneumonia": "{He} reports {n} days of fever, productive cough and worsening shortness of "
    "breath.",
    "sepsis": "{He} was brought in with fever, rigors, new confusion and {n} days of dysuria.",
    "hf_acute": "{He} reports {n} days of worsening dyspnea on exertion, orthopnea and leg "
    "swelling with a weight gain of several pounds.",
    "copd_exac": "{He} reports {n} days of increased cough, sputum and shortness of breath "
    "despite using {his} home inhalers.",
    "nstemi": "{He} presents with substernal chest pressure radiating to the left arm with "
    "diaphoresis, onset {n} hours before arrival.",
    "stroke": "{He} was found with acute right-sided weakness and slurred speech; last known "
    "well {n} hours before arrival.",
    "hip_fx_right": "{He} fell at home and was unable to bear weight on the right leg.",
    "hip_fx_left": "{He} fell at home and was unable to bear weight on the left leg.",
    "appendicitis": "{He} reports periumbilical pain migrating to the right lower quadrant "
    "over {n} hours, with anorexia and nausea.",
    "cholecystitis": "{He} reports right upper quadrant pain after a fatty meal for {n} hours "
    "with nausea and vomiting.",
    "gi_bleed": "{He} reports {n} episodes of black tarry stools and lightheadedness.",
    "oa_right": "{He} has long-standing right knee pain from osteoarthritis despite injections "
    "and physical therapy and presents for elective arthroplasty.",
    "oa_left": "{He} has long-standing left knee pain from osteoarthritis despite injections "
    "and physical therapy and presents for elective arthroplasty.",
    "abnormal_mammogram": "{He} had an abnormal screening mammogram and presents for "
    "image-guided biopsy.",
    "lung_nodule": "{He} has an enlarging upper lobe lung nodule on CT and presents for "
    "bronchoscopic biopsy.",
    "elevated_psa": "{He} has a rising PSA and presents for prostate biopsy.",
    "colon_screening": "{He} presents for average-risk screening colonoscopy.",
}

PLAN = {
    "htn": "Blood pressure {bp} today. Continue current antihypertensive regimen, low-sodium "
    "diet and regular exercise. Recheck BMP.",
    "t2dm": "Diet-controlled and on metformin; {a1c}. Foot exam normal, no retinopathy on "
    "last eye exam. Continue current plan.",
    "t2dm_hyper": "Uncontrolled with hyperglycemia; {a1c}. Reinforced diet; discussed adding "
    "a GLP-1 receptor agonist. Recheck HbA1c in 3 months.",
    "t2dm_ckd": "Diabetes with diabetic chronic kidney disease; {a1c}; {creatinine}. Avoid "
    "nephrotoxins, continue ACE inhibitor, nephrology referral.",
    "hld": "On statin therapy; {ldl}. Continue atorvastatin.",
    "asthma": "Well controlled, using albuterol rarely. No nighttime symptoms.",
    "copd": "Stable. Uses albuterol as needed. Counseled on smoking cessation; spirometry "
    "reviewed.",
    "hf": "Euvolemic on exam. Continue furosemide and metoprolol; daily weights and 2 g sodium "
    "restriction.",
    "ckd3a": "Stable renal function, {creatinine}. Avoid NSAIDs; renally dose medications.",
    "ckd3b": "Renal function stable, {creatinine}. Nephrology following.",
    "ckd4": "Advanced CKD, {creatinine}. Nephrology following; discussed renal replacement "
    "planning.",
    "afib": "Rate controlled, on anticoagulation with apixaban. No bleeding.",
    "cad": "No angina. Continue aspirin and statin.",
    "hypothyroid": "Clinically euthyroid on levothyroxine. Check TSH.",
    "depression": "Mood improved on sertraline; PHQ-9 reviewed. Denies suicidal ideation.",
    "anxiety": "Symptoms improved with sertraline and counseling.",
    "gerd": "Symptoms controlled on omeprazole. No dysphagia or weight loss.",
    "oa_right": "Right knee pain; continue acetaminophen, home exercises; may consider injection.",
    "oa_left": "Left knee pain; continue acetaminophen, home exercises.",
    "oa_both": "Bilateral knee pain; continue acetaminophen, weight loss, physical therapy.",
    "osa": "Using CPAP nightly with good adherence.",
    "obesity": "BMI {bmi}. Counseled on diet and physical activity.",
    "obesity3": "BMI {bmi}. Discussed medical weight management and bariatric referral.",
    "prediabetes": "{a1c}. Lifestyle modification discussed; recheck in 1 year.",
    "smoker": "Current every-day cigarette smoker. Counseled on cessation for 5 minutes; "
    "offered nicotine replacement.",
    "former_smoker": "Former smoker, quit several years ago.",
    "uri": "Viral upper respiratory infection. Supportive care, fluids, rest. Return if worse.",
    "pharyngitis": "Rapid strep negative. Supportive care.",
    "sinusitis": "Acute sinusitis. Saline irrigation; antibiotics if not better in 10 days.",
    "bronchitis": "Acute bronchitis, likely viral. No antibiotics indicated.",
    "uti": "Urinalysis positive for leukocyte esterase and nitrites. Start antibiotics; "
    "culture sent.",
    "lbp": "Mechanical low back pain without red flags. NSAIDs, heat, activity as tolerated.",
    "influenza": "Influenza-like illness. Oseltamivir started; supportive care.",
    "cellulitis": "Nonpurulent cellulitis. Oral antibiotics, elevate leg, mark borders.",
    "chest_pain": "Troponin negative x2 and ECG without ischemic changes; acute coronary "
    "syndrome ruled out. Outpatient stress test.",
    "abd_pain": "Benign abdominal exam on reassessment; no evidence of appendicitis. "
    "Discharged with return precautions.",
    "headache": "Tension-type headache without red flags. No imaging indicated.",
    "gastroenteritis": "Viral gastroenteritis. IV fluids and antiemetic; tolerating oral intake.",
    "syncope": "Likely vasovagal. ECG normal sinus rhythm; no arrhythmia on monitor.",
    "hand_laceration": "3 cm laceration repaired with simple interrupted sutures.",
    "pneumonia": "Community-acquired pneumonia with right lower lobe infiltrate. Ceftriaxone "
    "and azithromycin, transitioned to oral antibiotics.",
    "sepsis": "Sepsis from a urinary source. Blood and urine cultures, IV fluids and "
    "broad-spectrum antibiotics.",
    "hf_acute": "Acute on chronic systolic heart failure. IV furosemide diuresis, strict "
    "intake and output, echocardiogram.",
    "copd_exac": "COPD exacerbation. Nebulized bronchodilators, prednisone and antibiotics.",
    "nstemi": "NSTEMI. Heparin, aspirin, high-intensity statin; cardiac catheterization.",
    "stroke": "Acute ischemic stroke. Neurology consulted; MRI brain, telemetry, dysphagia "
    "screen, antiplatelet therapy.",
    "appendicitis": "Acute appendicitis. Laparoscopic appendectomy.",
    "cholecystitis": "Acute calculous cholecystitis. Laparoscopic cholecystectomy.",
    "gi_bleed": "Upper GI bleed. Pantoprazole infusion, transfusion threshold hemoglobin 7, EGD.",
    "aki": "Acute kidney injury, prerenal. IV fluids; hold nephrotoxins.",
    "hyponatremia": "Hyponatremia. Fluid restriction; trend sodium.",
    "resp_failure": "Acute hypoxic respiratory failure requiring supplemental oxygen.",
    "adhd": "Doing well in school on current plan; behavioral strategies reviewed.",
    "allergic_rhinitis": "Seasonal symptoms controlled with intranasal steroid as needed.",
    "vitd": "Continue vitamin D3 2000 units daily; recheck level in 6 months.",
    "anemia": "Hemoglobin stable; iron studies ordered.",
    "exam_adult": "Preventive counseling provided; age-appropriate screening reviewed. "
    "Immunizations up to date.",
    "exam_adult_abn": "Preventive counseling provided; abnormal findings addressed below.",
    "exam_child": "Growth and development appropriate for age. Anticipatory guidance given; "
    "immunizations up to date.",
    "otitis_right": "Acute otitis media of the right ear. Amoxicillin for 10 days.",
    "otitis_left": "Acute otitis media of the left ear. Amoxicillin for 10 days.",
    "sprain_right": "Right ankle sprain; Ottawa ankle rules negative, no imaging. Rest, ice, "
    "compression, elevation; crutches as needed.",
    "sprain_left": "Left ankle sprain; Ottawa ankle rules negative, no imaging. Rest, ice, "
    "compression, elevation; crutches as needed.",
    "hip_fx_right": "Displaced right femoral neck fracture on radiographs. Orthopedic surgery "
    "for arthroplasty; DVT prophylaxis; physical therapy.",
    "hip_fx_left": "Displaced left femoral neck fracture on radiographs. Orthopedic surgery "
    "for arthroplasty; DVT prophylaxis; physical therapy.",
    "fall": "Mechanical fall at home without loss of consciousness. Fall risk assessment and "
    "home safety evaluation.",
    "abnormal_mammogram": "Suspicious breast lesion. Image-guided core biopsy performed; "
    "pathology pending.",
    "lung_nodule": "Enlarging lung nodule. Bronchoscopic biopsy performed; pathology pending.",
    "elevated_psa": "Elevated PSA. Prostate biopsy performed; pathology pending.",
    "colon_screening": "Screening colonoscopy completed; specimens sent to pathology.",
    "colon_adenoma": "Sigmoid polyp removed. Repeat colonoscopy in 7 years if tubular adenoma "
    "is confirmed.",
}

ROS = (
    (
        "Constitutional",
        "Denies fever, chills or unintentional weight loss.",
        {"uri", "influenza", "pneumonia", "sepsis", "otitis_right", "otitis_left", "pharyngitis"},
    ),
    (
        "Cardiovascular",
        "Denies chest pain, palpitations or leg swelling.",
        {"chest_pain", "nstemi", "hf_acute"},
    ),
    (
        "Respiratory",
        "Denies cough, wheezing or shortness of breath.",
        {"uri", "bronchitis", "pneumonia", "copd_exac", "hf_acute", "influenza"},
    ),
    (
        "Gastrointestinal",
        "Denies abdominal pain, nausea, vomiting, melena or hematochezia.",
        {"abd_pain", "gastroenteritis", "appendicitis", "cholecystitis", "gi_bleed"},
    ),
    ("Genitourinary", "Denies dysuria or hematuria.", {"uti", "sepsis"}),
    (
        "Musculoskeletal",
        "Denies joint swelling or back pain.",
        {
            "lbp",
            "sprain_right",
            "sprain_left",
            "hip_fx_right",
            "hip_fx_left",
            "oa_right",
            "oa_left",
        },
    ),
    (
        "Neurological",
        "Denies headache, focal weakness or numbness.",
        {"headache", "stroke", "syncope"},
    ),
)

EXAM = (
    ("General", "Alert and oriented, in no acute distress.", {}),
    (
        "HEENT",
        "Normocephalic, oropharynx clear, tympanic membranes normal.",
        {
            "pharyngitis": "Posterior pharyngeal erythema without exudate.",
            "otitis_right": "Right tympanic membrane bulging and erythematous.",
            "otitis_left": "Left tympanic membrane bulging and erythematous.",
            "sinusitis": "Maxillary sinus tenderness, purulent nasal discharge.",
        },
    ),
    (
        "Lungs",
        "Clear to auscultation bilaterally.",
        {
            "pneumonia": "Crackles at the right base with egophony.",
            "copd_exac": "Diffuse expiratory wheezes with prolonged expiration.",
            "hf_acute": "Bibasilar crackles.",
        },
    ),
    ("Heart", "Regular rate and rhythm, no murmurs.", {"afib": "Irregularly irregular rhythm."}),
    (
        "Abdomen",
        "Soft, nontender, nondistended.",
        {
            "appendicitis": "Tender at McBurney's point with guarding.",
            "cholecystitis": "Right upper quadrant tenderness, positive Murphy sign.",
            "abd_pain": "Mild periumbilical tenderness without guarding or rebound.",
        },
    ),
    (
        "Extremities",
        "No edema.",
        {
            "hf_acute": "2+ pitting edema to the knees bilaterally.",
            "cellulitis": "Left lower leg erythema, warmth and tenderness, no fluctuance.",
            "sprain_right": "Right lateral ankle swelling and tenderness, no bony tenderness.",
            "sprain_left": "Left lateral ankle swelling and tenderness, no bony tenderness.",
            "hip_fx_right": "Right leg shortened and externally rotated.",
            "hip_fx_left": "Left leg shortened and externally rotated.",
        },
    ),
    (
        "Neurological",
        "No focal deficits.",
        {"stroke": "Right arm and leg weakness 3/5, right facial droop, dysarthria."},
    ),
)

OPERATIVE = (
    "The patient was brought to the operating room and placed supine. After induction of "
    "general anesthesia, the operative site was prepped and draped in the usual sterile "
    "fashion. A time-out confirmed patient, procedure and site. The {procedure} was performed "
    "without difficulty. Hemostasis was confirmed. Sponge and needle counts were correct. "
    "The patient tolerated the procedure well and was taken to recovery in stable condition."
)
