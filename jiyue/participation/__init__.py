"""Public participation: 意见征集 on draft policies, questionnaires (问卷调查) and 在线访谈."""
