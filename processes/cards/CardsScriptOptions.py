# CardsScriptOptions: the options of the card processes.
#
# Administrators change the values below; the processes read them when they start. Each
# option sits on a line of its own as `Name = value`, under a comment saying what it does,
# its possible values and its default. Saving checks every value first: a typo, a wrong
# type or a refused construct is reported with its line, and the previous version stays.

# Add an approval step to "Request multiple cards" (batch orders): the cards wait in
# `requested` until an approver decides. True or False; default False.
CardsBatchRequestApproval = False

# Add an approval step to "Request card" (one card for one user). True or False;
# default True.
CardsRequestApproval = True

# The console role whose members approve card requests and receive "Approval needed"
# mail. A role name; default "approver".
CardsApproverRole = "approver"

# The card type ordered when the operator names none. Lower-case letters, digits, - or _;
# default "employee".
CardsDefaultCardType = "employee"

# The largest batch an operator may submit, in users. A whole number; default 100000.
CardsBatchMaxUsers = 100000

# May the account that requested cards approve them itself? True or False; default False.
CardsAllowSelfApproval = False

# May an approver decide a request that holds a card of their own (the directory user with
# the approver's username)? True or False; default False.
CardsAllowHolderApproval = False

# Card types that never need approval, even when the approval step is on. A list of card
# types; default [] (every card needs approval).
CardsApprovalFreeTypes = []


# Activate cards as soon as "Issue multiple cards" has produced them, so they end `active`
# instead of `issued`. True or False; default False.
CardsActivateOnIssue = False


# Rule: does this card need an approver's decision? Called once per card of a batch when
# the approval step is on, with the card as a dict: {"user": ..., "type": ...,
# "org_unit": ...}. Return True (wait for an approver) or False (approved at once).
# Default: every card needs approval, except the types listed above.
def CardNeedsApproval(card):
    return card["type"] not in CardsApprovalFreeTypes
