# AccountsScriptOptions: the options of the account processes.

# An approver must agree before an account is unlocked. True or False; default True.
UnlockApproval = True

# The role that approves unlocks. A role name; default "approver".
UnlockApproverRole = "approver"
