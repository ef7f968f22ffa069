"""What happens to the demo city's requests: how fast staff act and what they all write.

The pace of each category and priority, the public notes staff write when moving a request
(by category and target status, when waiting on a third party, when work resumes or is booked
for a day, for a duplicate or a rejection), questions and answers between staff and residents,
comments on either side and internal notes.
"""

from __future__ import annotations

#: How fast staff act on a category, as a share of the usual delays (emergencies are fast,
#: targets in days are kept most of the time), and on a priority.
PACE = {
    "water-leak": 0.08,
    "traffic-signal": 0.15,
    "missed-collection": 0.15,
    "pothole": 0.5,
    "streetlight": 0.7,
    "dead-animal": 0.5,
    "snow-ice": 0.3,
    "tree": 0.8,
}
PRIORITY_PACE = {"urgent": 0.3, "high": 0.6, "low": 1.3}

#: Public notes staff write when moving a request, by category and then by target status.
STAFF_NOTES: dict[str, dict[str, list[str]]] = {
    "pothole": {
        "in_progress": [
            "A patching crew is scheduled for this block.",
            "This pothole is on this week's repair list.",
        ],
        "resolved": [
            "The pothole was filled with hot asphalt.",
            "Crew patched this pothole and two others nearby.",
        ],
    },
    "streetlight": {
        "in_progress": ["An electrician has been assigned to check the pole."],
        "resolved": [
            "The lamp was replaced and the light works again.",
            "A loose connection was repaired; the light is back on.",
        ],
    },
    "traffic-signal": {
        "in_progress": ["A signal technician is on the way."],
        "resolved": [
            "The signal controller was reset and timing checked.",
            "A failed bulb module was replaced.",
        ],
    },
    "street-sign": {
        "resolved": ["A new sign was installed.", "The sign was straightened and re-anchored."],
    },
    "sidewalk": {
        "in_progress": [
            "The slab has been marked for grinding. A temporary warning cone is in place."
        ],
        "resolved": [
            "The raised edge was ground down and the trip hazard removed.",
            "The damaged section of sidewalk was replaced.",
        ],
    },
    "snow-ice": {
        "resolved": ["The street was plowed and salted.", "Salt was spread at the intersection."],
    },
    "graffiti": {
        "resolved": [
            "The graffiti was painted over.",
            "The graffiti was removed with a pressure washer.",
        ],
    },
    "abandoned-vehicle": {
        "in_progress": ["An officer tagged the vehicle. The owner has 72 hours to move it."],
        "resolved": ["The vehicle was towed.", "The owner moved the vehicle after it was tagged."],
    },
    "missed-collection": {
        "in_progress": ["The route supervisor has sent a truck back."],
        "resolved": [
            "Your cart was emptied this afternoon. Sorry for the miss.",
            "The truck went back and collected the whole block.",
        ],
    },
    "bulk-pickup": {
        "acknowledged": [
            "Your pickup is scheduled for your next collection day. Please put "
            "the items at the curb the night before."
        ],
        "resolved": ["The items were picked up."],
    },
    "illegal-dumping": {
        "in_progress": ["A cleanup crew has been assigned."],
        "resolved": [
            "The dumped material was removed.",
            "The lot was cleaned up and the tires taken for recycling.",
        ],
    },
    "dumping-witness": {
        "resolved": ["Thank you. An inspector followed up with the vehicle owner."],
    },
    "dead-animal": {
        "resolved": ["The animal was removed."],
    },
    "park-maintenance": {
        "in_progress": ["The park maintenance crew will visit this week."],
        "resolved": [
            "The equipment was repaired.",
            "The park was cleaned and the trash cans emptied.",
            "The restroom was repaired and reopened.",
        ],
    },
    "tree": {
        "in_progress": ["A forestry crew inspected the tree and scheduled the work."],
        "resolved": [
            "The branch was removed and the sidewalk cleared.",
            "The tree was pruned.",
            "The dead tree was taken down; the stump will be ground later this season.",
        ],
    },
    "water-leak": {
        "in_progress": ["A crew is on site. Water may be off on this block for a few hours."],
        "resolved": [
            "The leaking main was repaired and the street patched.",
            "The hydrant valve was replaced.",
        ],
    },
    "storm-drain": {
        "resolved": [
            "The storm drain was cleared of leaves and debris.",
            "The catch basin was cleaned with a vacuum truck.",
        ],
    },
    "noise": {
        "in_progress": ["Officers have been asked to check the address during patrol."],
        "resolved": [
            "Officers spoke with the people responsible.",
            "A warning was issued to the owner.",
        ],
    },
    "construction-hours": {
        "resolved": ["An inspector reminded the contractor of the permitted hours."],
    },
    "housing-condition": {
        "in_progress": [
            "An inspection has been scheduled. The inspector will call you to arrange a time."
        ],
        "resolved": [
            "The inspection found violations and the owner has been ordered to make "
            "repairs. We will re-inspect."
        ],
    },
    "vacant-building": {
        "resolved": ["The building was boarded up and the owner was cited."],
    },
}

GENERIC_NOTES: dict[str, list[str]] = {
    "acknowledged": [
        "Thank you for your report. We have passed it to the crew for this area.",
        "Thanks. We have received your report and will review it.",
        "Received. An inspector will look at this.",
    ],
    "in_progress": ["Work on this has started.", "A crew has been assigned."],
    "resolved": ["This has been taken care of. Thank you for letting us know."],
}

REJECT_NOTES = [
    "This location is on private property, so the city cannot act on it. Please contact the "
    "property owner.",
    "This is maintained by the county, not the city. We have forwarded your report to them.",
    "We could not find the problem at this location. If it is still there, please report it "
    "again with a photo.",
    "This is a state highway. Please contact the state transportation department.",
]

QUESTIONS = [
    "Could you tell us the nearest house number or a landmark? We could not find it.",
    "Can you send a photo of the problem? It will help the crew bring the right equipment.",
    "Is the problem still there? The crew did not see it when they drove by.",
    "Which side of the street is it on?",
]

ANSWERS = [
    "It is right across from the church, by the fire hydrant.",
    "Yes, it is still there. It is on the north side of the street.",
    "It is in front of the blue house on the corner.",
    "I added a photo. It is next to the bus stop.",
]

STAFF_COMMENTS = [
    "Update: the crew was delayed by the weather and will come next week.",
    "We are waiting for a part and expect to finish in a few days.",
    "This is on the schedule. Thank you for your patience.",
]

RESIDENT_COMMENTS = [
    "Any update on this? It is still a problem.",
    "Thank you for the quick response!",
    "It got worse after the rain last night.",
    "My neighbors reported this too.",
]

REOPEN_COMMENTS = [
    "This is not fixed. The problem is back.",
    "The crew came, but the problem is still there.",
    "It was only partly fixed; the other half is still broken.",
]

INTERNAL_NOTES = [
    "Assigned to the north crew. Check again Tuesday.",
    "Called the reporter, left a voicemail.",
    "Same address had a similar report last year.",
    "Needs a contractor; waiting on a quote.",
    "Inspector visited, photos saved in the work order.",
    "Coordinate with Water Utility before digging.",
]

#: Public notes when a case waits on someone outside the city's crews, by category.
THIRD_PARTY_NOTES: dict[str, list[str]] = {
    "streetlight": [
        "This pole belongs to Riverton Power & Light. We have asked them to repair "
        "it and will update this request when they do.",
        "The fault is in the utility's underground cable. Riverton Power & Light "
        "has the repair on its list.",
    ],
    "traffic-signal": [
        "The controller cabinet was damaged and a replacement is on order from "
        "the manufacturer. The signal is set to flash red until then."
    ],
    "water-leak": [
        "The leak is on a line shared with the gas company. We are waiting for "
        "them to mark their pipes before we can dig.",
        "Our contractor has been called out to repair the main.",
    ],
    "tree": [
        "The branches are tangled in power lines. The utility's line-clearance crew has "
        "to de-energize them before we can cut."
    ],
    "sidewalk": [
        "The replacement has been given to our concrete contractor. They will pour "
        "the new slab when the weather allows."
    ],
    "pothole": [
        "This trench was left by a utility contractor. We have asked them to restore "
        "the pavement as their permit requires."
    ],
    "vacant-building": [
        "The owner's bank holds the property. We have written to them and are waiting for a reply."
    ],
    "abandoned-vehicle": [
        "The vehicle is reported stolen. We are waiting for the owner's insurer to arrange a tow."
    ],
}
GENERIC_THIRD_PARTY_NOTES = [
    "We are waiting for an outside contractor to finish their part of the work.",
    "Another agency has to act first. We have asked them and will update this request.",
]
#: When the work resumes after the outside party has done its part.
RESUME_NOTES = [
    "The contractor has finished their part. Our crew is back on this.",
    "We heard back and the work can go ahead now.",
]
#: Public notes when the work is booked for a day; ``{day}`` is like "Tuesday, March 3".
SCHEDULED_NOTES: dict[str, list[str]] = {
    "pothole": ["A patching crew is booked for this block on {day}."],
    "sidewalk": ["The slab replacement is booked for {day}. Please keep the area clear."],
    "tree": ["The forestry crew is booked to do this work on {day}."],
    "bulk-pickup": [
        "Your pickup is booked for {day}. Please put the items at the curb the night before."
    ],
    "housing-condition": [
        "The inspection is booked for {day}. The inspector will call you to confirm the time."
    ],
    "streetlight": ["An electrician is booked to repair this light on {day}."],
    "storm-drain": ["The vacuum truck is booked for this catch basin on {day}."],
    "park-maintenance": ["The park crew is booked to do this work on {day}."],
}
GENERIC_SCHEDULED_NOTES = [
    "The work is booked for {day}.",
    "A crew is booked to come out on {day}.",
]

DUPLICATE_NOTE = "This is the same problem as {reference}. Please follow that request for updates."
